import type { CliIo } from './cli-io.js';
import { storeRoot } from './store-root.js';

/** kiln's options that go before or after any command, as parsed. */
export interface GlobalOptions {
  /** `--root` */
  readonly root?: string;
  /** Every `--insecure-registry`. */
  readonly insecureRegistries: readonly string[];
  /** Every `--registry-ca`. */
  readonly registryCaFiles: readonly string[];
}

/**
 * Applies the global options for a command: the registries go on `io`, where the registry
 * commands read them; the store root is returned (`--root`, else KILN_ROOT, else the default for
 * this user: see storeRoot).
 */
export function applyGlobalOptions(opts: GlobalOptions, io: CliIo): string {
  io.insecureRegistries = opts.insecureRegistries;
  io.registryCaFiles = opts.registryCaFiles;
  return storeRoot(opts.root, process.env, process.getuid?.() ?? 0);
}
