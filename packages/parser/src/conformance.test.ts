import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dumpAst, expandWord, expandWords, parseDockerfile, parseDockerfileNodes } from './index.js';

/**
 * BuildKit's own parser and shell-lexer data (../shared/conformance, formats in its README).
 * Cases we believe upstream gets wrong would be listed in EXCEPTIONS with the reason; none are.
 */
const EXCEPTIONS: ReadonlyMap<string, string> = new Map();

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const root = resolve(repoRoot, '..', 'shared', 'conformance', 'buildkit', 'frontend', 'dockerfile');
const present = existsSync(root);
if (!present) console.warn(`conformance: ${root} is absent, skipping BuildKit conformance tests`);
const suite = present ? describe : describe.skip;

const read = (...parts: string[]): string => readFileSync(join(root, ...parts), 'utf8');
const cases = (dir: string): string[] => (present ? readdirSync(join(root, dir)).sort() : []);

suite('BuildKit conformance', () => {
  describe('parser/testfiles: AST dump', () => {
    it.each(cases('parser/testfiles'))('%s', (name) => {
      if (EXCEPTIONS.has(`testfiles/${name}`)) return;
      const text = read('parser/testfiles', name, 'Dockerfile');
      const { nodes } = parseDockerfileNodes(text, { file: 'Dockerfile' });
      expect(dumpAst(nodes)).toBe(read('parser/testfiles', name, 'result'));
    });
  });

  describe('parser/testfiles-negative: must fail', () => {
    it.each(cases('parser/testfiles-negative'))('%s', (name) => {
      const text = read('parser/testfiles-negative', name, 'Dockerfile');
      expect(() => parseDockerfileNodes(text, { file: 'Dockerfile' })).toThrow();
      expect(() => parseDockerfile(text, { file: 'Dockerfile' })).toThrow();
    });
  });

  it('parser/testfile-line: line numbers', () => {
    const { nodes } = parseDockerfileNodes(read('parser/testfile-line', 'Dockerfile'), {
      file: 'Dockerfile',
    });
    expect(nodes.map((n) => [n.keyword, n.range.start.line, n.range.end.line])).toEqual([
      ['FROM', 5, 5],
      ['ENV', 11, 12],
      ['RUN', 17, 31],
    ]);
  });

  describe('shell/envVarTest: expandWord', () => {
    const env = new Map([
      ['PWD', '/home'],
      ['SHELL', 'bash'],
      ['KOREAN', '한국어'],
      ['NULL', ''],
    ]);
    const rows = present ? envVarRows(read('shell', 'envVarTest')) : [];
    it.each(rows)('%s → %s', (input, expected) => {
      if (expected === 'error') expect(() => expandWord(input, env)).toThrow();
      else expect(expandWord(input, env)).toBe(expected);
    });
  });

  describe('shell/wordsTest: expandWords', () => {
    const rows = present ? wordsRows(read('shell', 'wordsTest')) : [];
    it.each(rows)('%s → %j', (input, expected, env) => {
      if (expected.length === 1 && expected[0] === 'error') expect(() => expandWords(input, env)).toThrow();
      else expect(expandWords(input, env)).toEqual(expected);
    });
  });
});

/** Rows for a Linux engine: A (all) and U (non-Windows); W rows are skipped. */
function envVarRows(text: string): [string, string][] {
  const rows: [string, string][] = [];
  for (const raw of text.split('\n')) {
    if (raw.startsWith('#')) continue;
    const line = raw.trim();
    if (line === '') continue;
    const fields = line.split('|').map((f) => f.trim());
    if (fields.length !== 3) throw new Error(`bad envVarTest line: ${raw}`);
    const [platform, input, expected] = fields as [string, string, string];
    if (platform === 'A' || platform === 'U') rows.push([input, expected]);
  }
  return rows;
}

function wordsRows(text: string): [string, string[], Map<string, string>][] {
  const rows: [string, string[], Map<string, string>][] = [];
  const env = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('ENV ')) {
      const def = line.slice(4).replace(/^ +/, '');
      const eq = def.indexOf('=');
      env.set(def.slice(0, eq), def.slice(eq + 1));
      continue;
    }
    const bar = line.indexOf('|');
    if (bar < 0 || line.indexOf('|', bar + 1) >= 0) throw new Error(`bad wordsTest line: ${line}`);
    const expected = line
      .slice(bar + 1)
      .replace(/^ +/, '')
      .split(',');
    rows.push([line.slice(0, bar).trim(), expected, new Map(env)]);
  }
  return rows;
}
