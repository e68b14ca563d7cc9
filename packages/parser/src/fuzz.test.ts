import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { DockerfileError, ExpansionError, expandWord, expandWords, parseDockerfile } from './index.js';

/**
 * Hostile input (DESIGN.md §5): mutated real Dockerfiles and random line structures must either
 * parse or fail with our typed error, quickly. Runs are bounded by count and by time so the whole
 * file stays within a few seconds; the seed is fixed so a failure reproduces (FUZZ_SEED=<n> tries another).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
/** A hang guard, not a performance assertion: no single input may take anywhere near this long. */
const HANG_MS = 2000;
let casesRun = 0;

const here = dirname(fileURLToPath(import.meta.url));
const corpus = resolve(
  here,
  '..',
  '..',
  '..',
  '..',
  'shared',
  'conformance',
  'buildkit',
  'frontend',
  'dockerfile',
);

const SAMPLES: readonly string[] = [
  'FROM alpine:3.20 AS build\nARG A B=2\nENV X=1 Y="two words"\nRUN --mount=type=cache,target=/root/.cache \\\n  apk add curl && \\\n  # comment\n  echo done\nCOPY --from=build --chown=1:1 --chmod=0755 a b /dst/\nCMD ["sh", "-c", "echo hi"]\n',
  '# syntax=docker/dockerfile:1\n# escape=`\nFROM scratch\nRUN echo a `\n  b\nCOPY <<EOF /etc/x\nhello $X\nEOF\n',
  'FROM busybox\nRUN <<-EOT bash\n\techo a\n\tEOT\nRUN 3<<"A" cat <<B\nbody a\nA\nbody b\nB\nHEALTHCHECK --interval=5s --retries=3 CMD ["true"]\nONBUILD RUN echo x\n',
  '\uFEFFFROM x\r\nLABEL a=b c="d e"\r\nEXPOSE 80/tcp 443\r\nVOLUME ["/a", "/b"]\r\nUSER 1:1\r\nWORKDIR /w\r\nSHELL ["/bin/sh", "-c"]\r\nSTOPSIGNAL SIGTERM\r\n',
  'ARG BASE=alpine\nFROM ${BASE:-x} AS a\nADD --checksum=sha256:00 --keep-git-dir=true --unpack=false https://x/y.tar /z\nENTRYPOINT exec app\nMAINTAINER me\n',
];

function corpusFiles(): string[] {
  const dirs = ['parser/testfiles', 'parser/testfiles-negative'].map((d) => join(corpus, d));
  return dirs.filter(existsSync).flatMap((dir) =>
    readdirSync(dir)
      .sort()
      .map((name) => join(dir, name, 'Dockerfile'))
      .filter(existsSync)
      .map((file) => readFileSync(file, 'utf8')),
  );
}

const SEEDS: readonly string[] = [...SAMPLES, ...corpusFiles()];

/** Pieces that stress the line reader, flags, JSON, heredocs, quotes and expansion. */
const TOKENS: readonly string[] = [
  'FROM',
  'from',
  'RUN',
  'COPY',
  'ADD',
  'ENV',
  'ARG',
  'LABEL',
  'ONBUILD',
  'HEALTHCHECK',
  'SHELL',
  'CMD',
  'ENTRYPOINT',
  'EXPOSE',
  'VOLUME',
  'USER',
  'WORKDIR',
  'STOPSIGNAL',
  'MAINTAINER',
  'NONE',
  'AS',
  'RUNN',
  '--mount=type=cache,target=/x',
  '--mount=type=secret,id=a,required',
  '--mount=type=bind,"src=a,b"',
  '--from=a',
  '--chmod=755',
  '--link',
  '--link=false',
  '--network=none',
  '--platform=$P',
  '--interval=1s',
  '--retries=x',
  '--',
  '--=',
  '--"a b"',
  '\\',
  '`',
  '\\\n',
  '`\n',
  '\\ \n',
  '<<EOF',
  '<<-EOF',
  "<<'EOF'",
  '3<<"E"',
  '<<',
  'EOF',
  'E',
  '"',
  "'",
  '[',
  ']',
  '["a"',
  '["a", "b"]',
  '[1]',
  '[]',
  ',',
  '{',
  '}',
  '$',
  '${',
  '${V',
  '${V:-x}',
  '${V:?}',
  '${V#*}',
  '${V%%-*}',
  '${V/a/b}',
  '${V//[a-/x}',
  '$1',
  '${:}',
  '=',
  'a=b',
  '="',
  '#',
  '# escape=`',
  '# escape=\\',
  '# escape=x',
  '# syntax=x',
  '# check=skip=all',
  '\0',
  '\r',
  '\r\n',
  '\n',
  '\t',
  ' ',
  '\uFEFF',
  '\u2028',
  '\u00a0',
  'é',
  '한',
  '\uD800',
  '😀',
  'x'.repeat(5000),
];

const line = fc
  .array(fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 8 })), { maxLength: 12 })
  .chain((parts) => fc.constantFrom(parts.join(' '), parts.join('')));
const lines = fc
  .tuple(fc.array(line, { maxLength: 30 }), fc.constantFrom('\n', '\r\n', '\r'))
  .map(([ls, eol]) => ls.join(eol));

type Mutation =
  | { readonly op: 'insert'; readonly at: number; readonly text: string }
  | { readonly op: 'delete'; readonly at: number; readonly length: number }
  | { readonly op: 'duplicate'; readonly at: number; readonly length: number }
  | { readonly op: 'truncate'; readonly at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 4 })),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 80 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(text: string, m: Mutation): string {
  const at = text.length === 0 ? 0 : m.at % (text.length + 1);
  switch (m.op) {
    case 'insert':
      return text.slice(0, at) + m.text + text.slice(at);
    case 'delete':
      return text.slice(0, at) + text.slice(at + m.length);
    case 'duplicate':
      return text.slice(0, at + m.length) + text.slice(at, at + m.length) + text.slice(at + m.length);
    case 'truncate':
      return text.slice(0, at);
  }
}

const mutated = fc
  .tuple(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 6 }))
  .map(([seed, ms]) => ms.reduce(mutate, seed));

/** Runs `f`; only `allowed` may be thrown, and no input may come near a hang. */
function survives(f: () => unknown, allowed: (err: unknown) => boolean): boolean {
  casesRun++;
  const start = performance.now();
  try {
    f();
  } catch (err) {
    if (!allowed(err)) throw err;
  }
  const ms = performance.now() - start;
  if (ms > HANG_MS) throw new Error(`input took ${Math.round(ms)} ms`);
  return true;
}

const parse = (text: string) => () => parseDockerfile(text, { file: 'Dockerfile' });
const isDockerfileError = (err: unknown): boolean => err instanceof DockerfileError;
const isExpansionError = (err: unknown): boolean => err instanceof ExpansionError;
const run = (numRuns: number) => ({ seed: SEED, numRuns, interruptAfterTimeLimit: 1500 });

describe('parser fuzz', () => {
  afterAll(() => console.log(`parser fuzz: ${casesRun} inputs, seed ${SEED}, corpus files ${SEEDS.length}`));

  it('mutated real Dockerfiles parse or throw DockerfileError', () => {
    fc.assert(
      fc.property(mutated, (text) => survives(parse(text), isDockerfileError)),
      run(1500),
    );
  });

  it('random line structures parse or throw DockerfileError', () => {
    fc.assert(
      fc.property(lines, (text) => survives(parse(text), isDockerfileError)),
      run(400),
    );
  });

  it('arbitrary strings parse or throw DockerfileError', () => {
    const text = fc.string({ unit: 'binary', maxLength: 300 });
    fc.assert(
      fc.property(text, (t) => survives(parse(`FROM x\n${t}`), isDockerfileError)),
      run(1000),
    );
  });

  it('expandWord and expandWords expand or throw ExpansionError', () => {
    const word = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc
        .array(fc.constantFrom(...TOKENS.filter((t) => t.length < 100), 'V', '*', '?', '-', '/', '#', '%'), {
          maxLength: 16,
        })
        .map((parts) => parts.join('')),
    );
    const vars = new Map([
      ['V', 'a-b-c/d*e'],
      ['E', ''],
      ['1', 'one'],
    ]);
    fc.assert(
      fc.property(word, fc.constantFrom('\\', '`'), (w, escape) =>
        survives(() => {
          expandWord(w, vars, escape);
          expandWords(w, vars, escape);
        }, isExpansionError),
      ),
      run(3000),
    );
  });

  it('a literal pattern trims exactly itself (regression: `-` in ${V%-*} was an invalid escape)', () => {
    const literal = fc.string({ maxLength: 10 }).filter((s) => !/[*?[\\\]{}$'"`#%]/.test(s));
    fc.assert(
      fc.property(literal, fc.string({ maxLength: 5 }), (p, tail) => {
        casesRun++;
        const vars = new Map([['V', p + tail + p]]);
        expect(expandWord(`\${V#${p}}`, vars)).toBe(tail + p);
        expect(expandWord(`\${V%${p}}`, vars)).toBe(p + tail);
      }),
      run(500),
    );
    expect(expandWord('${V%-*}', new Map([['V', '1.2-alpine']]))).toBe('1.2');
    expect(expandWord('${V/-/_}', new Map([['V', 'a-b']]))).toBe('a_b');
    expect(expandWord('${V//[\\-]/_}', new Map([['V', 'a-b-c']]))).toBe('a_b_c');
  });
});

/**
 * Linear work without timing anything: while a parse runs, count the regular-expression
 * executions and the characters handed to the lexers (`Array.from`) and to `JSON.parse`. Inputs
 * repeat one block, so a linear parser gives counts exactly proportional to the line count; a
 * parser that rescans earlier lines would not. Speed itself is for bench/parser-bench.mjs.
 */
describe('parser scaling', () => {
  const block = [
    'FROM alpine:3.20 AS build',
    'ENV X=1 Y="a b"',
    'RUN --mount=type=cache,target=/c echo a \\',
    '  # a comment inside',
    '  && echo "${X:-b}"',
    'COPY --chown=1:1 --link a /b/',
    'RUN <<EOF',
    'echo hi',
    'EOF',
    'CMD ["x", "y"]',
  ];
  const make = (n: number): string =>
    Array.from({ length: n }, (_, i) => block[i % block.length] as string).join('\n') + '\n';

  function countWork(text: string): { execs: number; lexed: number; json: number } {
    const counts = { execs: 0, lexed: 0, json: 0 };
    const exec = RegExp.prototype.exec;
    const from = Array.from;
    const jsonParse = JSON.parse;
    RegExp.prototype.exec = function (this: RegExp, s: string) {
      counts.execs++;
      return exec.call(this, s);
    };
    Array.from = function (...args: Parameters<typeof Array.from>) {
      const out = from.apply(Array, args);
      counts.lexed += out.length;
      return out;
    } as typeof Array.from;
    JSON.parse = (t: string, reviver?: Parameters<typeof JSON.parse>[1]): unknown => {
      counts.json += t.length;
      return jsonParse(t, reviver);
    };
    try {
      parseDockerfile(text, { file: 'Dockerfile' });
    } finally {
      RegExp.prototype.exec = exec;
      Array.from = from;
      JSON.parse = jsonParse;
    }
    return counts;
  }

  it('does work proportional to the input (1k, 10k, 50k lines)', () => {
    const sizes = [1000, 10000, 50000];
    const [small, ...larger] = sizes.map((n) => countWork(make(n)));
    for (const [i, counts] of larger.entries()) {
      const factor = (sizes[i + 1] as number) / (sizes[0] as number);
      for (const key of ['execs', 'lexed', 'json'] as const) {
        const ratio = counts[key] / ((small as typeof counts)[key] * factor);
        expect({ key, lines: sizes[i + 1], ratio: Math.round(ratio * 100) / 100 }).toEqual({
          key,
          lines: sizes[i + 1],
          ratio: 1,
        });
      }
    }
  });
});
