import { formatPlatform, hostPlatform, parsePlatform } from '@kiln/oci';
import { BuilderError, type ErrorLocation } from '../builder-error.js';

/**
 * Checks a platform the build is asked for (`--platform`, `FROM --platform=…`): kiln runs its
 * steps natively, without emulation, so it builds for the host's platform only — which is what
 * `--platform linux/amd64` on an amd64 machine, or the cross-compiling `FROM
 * --platform=$BUILDPLATFORM`, ask for. Throws INVALID_ARGUMENT (INVALID_INSTRUCTION with a
 * location) for a specifier that is not a platform, UNSUPPORTED for another platform.
 */
export function requireHostPlatform(spec: string, what: string, location?: ErrorLocation): void {
  const at = location ? { location } : {};
  const asked = parsePlatform(spec);
  if (asked === undefined) {
    throw new BuilderError(
      location ? 'INVALID_INSTRUCTION' : 'INVALID_ARGUMENT',
      `${what}: "${spec}" is not a platform`,
      {
        ...at,
        hint: 'a platform is os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8',
      },
    );
  }
  const raw = hostPlatform();
  const host = parsePlatform(formatPlatform(raw)) ?? raw;
  if (formatPlatform(asked) !== formatPlatform(host)) {
    throw new BuilderError(
      'UNSUPPORTED',
      `${what}: kiln builds for this machine's platform (${formatPlatform(host)}) only, not ${formatPlatform(asked)}`,
      { ...at, hint: 'RUN steps run natively, without emulation: build on a machine of that platform' },
    );
  }
}
