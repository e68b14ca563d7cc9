import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One call a test credential helper received. */
export interface HelperCall {
  readonly action: string;
  readonly input: string;
}

export interface CredentialHelper {
  /** A directory holding `docker-credential-<name>`: put it first on PATH. */
  readonly binDir: string;
  /** Every call so far, in order. */
  calls(): HelperCall[];
  /** What the helper holds: server URL → { Username, Secret }. */
  stored(): Record<string, { Username: string; Secret: string }>;
}

/**
 * Writes a real `docker-credential-<name>` program (a Node script) into `dir/bin` that speaks
 * docker's credential-helper protocol (`get`, `store`, `erase`, `list`) over a JSON file, and
 * records every call with its stdin. `initial` seeds what it holds.
 */
export function installCredentialHelper(
  dir: string,
  name = 'kilntest',
  initial: Record<string, { Username: string; Secret: string }> = {},
): CredentialHelper {
  const binDir = join(dir, 'bin');
  mkdirSync(binDir, { recursive: true });
  const storeFile = join(dir, 'helper-store.json');
  const callsFile = join(dir, 'helper-calls.jsonl');
  writeFileSync(storeFile, JSON.stringify(initial));
  writeFileSync(callsFile, '');
  const program = join(binDir, `docker-credential-${name}`);
  writeFileSync(
    program,
    `#!${process.execPath}
const fs = require('node:fs');
const storeFile = ${JSON.stringify(storeFile)};
const action = process.argv[2];
const input = fs.readFileSync(0, 'utf8');
fs.appendFileSync(${JSON.stringify(callsFile)}, JSON.stringify({ action, input }) + '\\n');
const store = JSON.parse(fs.readFileSync(storeFile, 'utf8'));
const notFound = () => { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); };
const server = input.trim();
if (action === 'get') {
  if (!store[server]) notFound();
  process.stdout.write(JSON.stringify({ ServerURL: server, ...store[server] }));
} else if (action === 'store') {
  const item = JSON.parse(input);
  store[item.ServerURL] = { Username: item.Username, Secret: item.Secret };
  fs.writeFileSync(storeFile, JSON.stringify(store));
} else if (action === 'erase') {
  if (!store[server]) notFound();
  delete store[server];
  fs.writeFileSync(storeFile, JSON.stringify(store));
} else if (action === 'list') {
  process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(store).map(([k, v]) => [k, v.Username]))));
} else {
  process.stderr.write('unknown action ' + action + '\\n');
  process.exit(2);
}
`,
  );
  chmodSync(program, 0o755);
  return {
    binDir,
    calls: () =>
      readFileSync(callsFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as HelperCall),
    stored: () =>
      existsSync(storeFile)
        ? (JSON.parse(readFileSync(storeFile, 'utf8')) as Record<
            string,
            { Username: string; Secret: string }
          >)
        : {},
  };
}
