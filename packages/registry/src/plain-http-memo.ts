import { readFileSync } from 'node:fs';
import { appendFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Registries (`host[:port]`, as references name them) that answered kiln's TLS probe in plain
 * HTTP, remembered between runs: a later run to such a loopback or `--insecure-registry` host
 * sends its first request over `http://` at once, without the probe (a handshake, and loading
 * Node's TLS, on the critical path of every push or pull). Only a hint: a registry that has
 * turned to TLS since is found out by its first failing request and forgotten (RegistryScheme).
 */
export interface PlainHttpMemo {
  /** Whether `registry` answered in plain HTTP when last asked. */
  has(registry: string): boolean;
  remember(registry: string): Promise<void>;
  forget(registry: string): Promise<void>;
}

/**
 * A memo kept in `file`, one registry per line, read once (synchronously: it is a few bytes and
 * read before the first request). `remember` appends a line that is not there yet, so concurrent
 * kiln processes need no lock (a race repeats a line at worst); `forget` rewrites the file
 * without the registry (temporary file, then rename). A file that cannot be read is empty.
 */
export function filePlainHttpMemo(file: string): PlainHttpMemo {
  let known: Set<string> | undefined;
  const read = (): Set<string> => {
    if (!known) {
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        // Absent or unreadable: nothing is known, the probe decides.
      }
      known = new Set(text.split('\n').filter((l) => l !== ''));
    }
    return known;
  };
  return {
    has: (registry) => read().has(registry),
    async remember(registry) {
      if (registry.includes('\n') || read().has(registry)) return;
      read().add(registry);
      await mkdir(dirname(file), { recursive: true });
      await appendFile(file, `${registry}\n`);
    },
    async forget(registry) {
      // Read the file again: another process may have added hosts since this memo read it.
      known = undefined;
      const rest = [...read()].filter((r) => r !== registry);
      known = new Set(rest);
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, rest.map((r) => `${r}\n`).join(''));
      await rename(temp, file);
    },
  };
}
