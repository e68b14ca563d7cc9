import type { Platform } from './documents.js';

/** The platform of the machine kiln runs on, in OCI terms (Node's arch names mapped to GOARCH). */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}

const OS_NAMES = new Set([
  'linux',
  'windows',
  'darwin',
  'freebsd',
  'netbsd',
  'openbsd',
  'solaris',
  'illumos',
  'aix',
]);
/** Architecture spellings as containerd normalizes them (GOARCH names). */
const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  amd64: 'amd64',
  aarch64: 'arm64',
  arm64: 'arm64',
  i386: '386',
  i686: '386',
  '386': '386',
  armhf: 'arm',
  armel: 'arm',
  arm: 'arm',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};
/** The variant each architecture has when none is named (containerd's normalization drops it). */
const DEFAULT_VARIANT: Record<string, string> = { amd64: 'v1', arm64: 'v8', arm: 'v7' };

/**
 * A platform specifier as `docker build --platform` and `FROM --platform` take it —
 * `os[/arch[/variant]]`, or an architecture alone (for the host's OS) — normalized as containerd
 * does (`x86_64` → amd64, `aarch64` → arm64, `armhf` → arm/v7, a default variant dropped).
 * Undefined when it is not one.
 */
export function parsePlatform(spec: string): Platform | undefined {
  const parts = spec.trim().toLowerCase().split('/');
  if (parts.some((p) => !/^[a-z0-9_-]+$/.test(p)) || parts.length > 3) return undefined;
  const host = hostPlatform();
  let [os, arch, variant] = parts as [string, string | undefined, string | undefined];
  if (parts.length === 1) {
    if (OS_NAMES.has(os)) arch = os === host.os ? host.architecture : undefined;
    else [os, arch] = [host.os, os];
    if (arch === undefined) return undefined;
  }
  if (!OS_NAMES.has(os) || arch === undefined) return undefined;
  const architecture = ARCH_ALIASES[arch];
  if (architecture === undefined) return undefined;
  if (arch === 'armel') variant ??= 'v6';
  if (variant !== undefined && /^\d+$/.test(variant)) variant = `v${variant}`;
  if (variant === DEFAULT_VARIANT[architecture] && architecture !== 'arm') variant = undefined;
  if (architecture === 'arm') variant ??= 'v7';
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** `os/arch[/variant]`, as TARGETPLATFORM spells a platform. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}
