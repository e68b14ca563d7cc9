import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const kilnBin = join(repoRoot, 'node_modules', '.bin', 'kiln');

export interface Result {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `kiln` binary (built by `pnpm build`) against a store root. */
export function kiln(root: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Result {
  const r = spawnSync(kilnBin, ['--root', root, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 300_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The trimmed stdout of a kiln run that succeeded; otherwise fails the test with kiln's stderr
 * (a non-zero status, or an `error` line on stderr).
 */
export function ok(r: Result): string {
  if (r.status !== 0 || /^error/m.test(r.stderr)) throw new Error(`kiln exited ${r.status}:\n${r.stderr}`);
  return r.stdout.trim();
}

/** Runs a tool and fails the test with its output if it exits non-zero. */
export function run(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A fresh store with busybox:latest imported from Debian's busybox-static. */
export function storeWithBusybox(root: string): void {
  const rootfs = join(root, '..', `busybox-rootfs-${process.pid}`);
  run('bash', [join(repoRoot, 'scripts', 'make-busybox-rootfs.sh'), rootfs]);
  try {
    const r = kiln(root, ['import', rootfs, 'busybox:latest']);
    if (r.status !== 0) throw new Error(`kiln import failed: ${r.stderr}`);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

/** Writes a build context `parent/name`: its Dockerfile and files (relative paths, parents made). */
export function writeContext(
  parent: string,
  name: string,
  dockerfile: string,
  files: Record<string, string> = {},
): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** The result of {@link buildUnpacked}. */
export interface UnpackedBuild extends Result {
  /** The OCI layout directory the build wrote. */
  readonly layout: string;
  /** The unpacked root filesystem (absent when the build failed). */
  readonly rootfs: string;
  /** The layout's ref name (the tag part of `tag`). */
  readonly ref: string;
}

let unpackedBuilds = 0;

/**
 * Builds `ctx` with plain progress into a fresh OCI layout directory under `work` and, when the
 * build succeeds, unpacks it with umoci. A failed build is returned (check `status`), not thrown.
 */
export function buildUnpacked(
  root: string,
  work: string,
  ctx: string,
  opts: { readonly tag?: string; readonly args?: readonly string[] } = {},
): UnpackedBuild {
  const i = ++unpackedBuilds;
  const tag = opts.tag ?? 'built:t';
  const ref = tag.slice(tag.lastIndexOf(':') + 1);
  const layout = join(work, `layout-${i}`);
  const bundle = join(work, `bundle-${i}`);
  const r = kiln(root, [
    'build',
    '--progress',
    'plain',
    '-t',
    tag,
    '--output',
    `type=oci,dest=${layout},tar=false`,
    ...(opts.args ?? []),
    ctx,
  ]);
  if (r.status === 0) run('umoci', ['unpack', '--image', `${layout}:${ref}`, bundle]);
  return { ...r, layout, rootfs: join(bundle, 'rootfs'), ref };
}

/** {@link buildUnpacked}, failing the test with the build's output when the build fails. */
export function buildUnpackedOk(
  root: string,
  work: string,
  ctx: string,
  opts: { readonly tag?: string; readonly args?: readonly string[] } = {},
): UnpackedBuild {
  const r = buildUnpacked(root, work, ctx, opts);
  if (r.status !== 0) throw new Error(`build failed:\n${r.stderr}`);
  return r;
}
