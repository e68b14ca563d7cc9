import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileError, parseDockerfile } from './index.js';

/**
 * Golden files for what the upstream corpus lacks: testdata/<case>/Dockerfile and the expected
 * parse (instructions with ranges, directives, warnings) or the error's diagnostics. Run with
 * UPDATE_GOLDEN=1 to rewrite expected.json, then review every change by eye.
 */
const testdata = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'testdata');
const update = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(testdata).filter((name) => existsSync(join(testdata, name, 'Dockerfile')));

/** What a parse gives, as plain data: maps become objects, absent optional fields are left out. */
function outcome(text: string): unknown {
  try {
    const df = parseDockerfile(text, { file: 'Dockerfile' });
    return {
      escape: df.escape,
      directives: Object.fromEntries(df.directives),
      instructions: df.instructions,
      warnings: df.warnings,
    };
  } catch (err) {
    if (!(err instanceof DockerfileError)) throw err;
    return {
      error: { code: err.code, diagnostics: err.diagnostics, formatted: err.format(text).split('\n') },
    };
  }
}

/** JSON with object keys sorted at every level, two-space indent and a final newline. */
function serialize(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v === null || typeof v !== 'object') return v;
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return Object.fromEntries(
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => [k, sorted(x)]),
    );
  };
  return `${JSON.stringify(sorted(value), null, 2)}\n`;
}

describe('golden files (testdata/)', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThan(0));

  it.each(cases)('%s', async (name) => {
    const text = readFileSync(join(testdata, name, 'Dockerfile'), 'utf8');
    const expectedFile = join(testdata, name, 'expected.json');
    const actual = serialize(outcome(text));
    if (update) {
      // Written as Prettier would, so `prettier --check` stays clean after an update.
      const prettier = await import('prettier');
      const config = await prettier.resolveConfig(expectedFile);
      writeFileSync(expectedFile, await prettier.format(actual, { ...config, filepath: expectedFile }));
      return;
    }
    if (!existsSync(expectedFile)) {
      throw new Error(`${expectedFile} is missing: run with UPDATE_GOLDEN=1 and review it`);
    }
    // Compared as data: the file's layout is Prettier's business, its content is ours.
    expect(JSON.parse(actual)).toEqual(JSON.parse(readFileSync(expectedFile, 'utf8')));
  });
});
