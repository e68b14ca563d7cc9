// @kiln/parser throughput on a generated 1 MB, 50,000-line Dockerfile, side by side with
// dockerfile-ast (the peer) in the same run. Run after `pnpm build`:
//   node bench/parser-bench.mjs [--runs N] [--no-peer]
// The peer is installed with npm into a temporary directory (never into the workspace); without
// network or with --no-peer only kiln is measured. Plain Node, no workspace dependencies.
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median } from './lib/report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const LINES = 50_000;

const argv = process.argv.slice(2);
const runsAt = argv.indexOf('--runs');
const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 15;
const withPeer = !argv.includes('--no-peer');
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs needs a positive integer');

/** A small deterministic PRNG (mulberry32): the same file on every machine and every run. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Exactly `LINES` lines, 1 MB: every kind of instruction, continuations, heredocs, comments. */
function generateDockerfile() {
  const rnd = random(42);
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const word = () =>
    pick([
      'app',
      'lib',
      'src',
      'bin',
      'etc',
      'opt',
      'var',
      'usr',
      'server',
      'worker',
      'assets',
      'frontend',
      'backend',
      'scheduler',
    ]);
  const blocks = [
    () => [`FROM alpine:3.${Math.floor(rnd() * 20)} AS s${Math.floor(rnd() * 1e4)}`],
    () => [`RUN make -C /${word()} -j8 all install`],
    () => [`RUN apk add curl git \\`, `  # ${word()} tools`, `  && echo ok-${word()}`],
    () => [`RUN --mount=type=cache,target=/c \\`, `  go build ./${word()}/...`],
    () => ['RUN <<EOF', `set -e`, `echo ${word()}`, 'EOF'],
    () => [`COPY <<-EOT /${word()}.txt`, `\t${word()}=1`, '\tEOT'],
    () => [`COPY --chown=1:1 ${word()} /${word()}/`],
    () => [`ADD --link ${word()}-release.tgz /opt/`],
    () => [`ENV ${word().toUpperCase()}=1 B="x y"`],
    () => [`ARG V_${word()}=${Math.floor(rnd() * 100)}`],
    () => [`LABEL org.opencontainers.${word()}=yes`],
    () => [`WORKDIR /srv/${word()}/${word()}`],
    () => [`CMD ["/bin/${word()}", "-v"]`],
    () => [`EXPOSE ${Math.floor(rnd() * 60000)}/tcp`],
    () => [`HEALTHCHECK --interval=5s CMD true`],
    () => [`# ${word()} ${word()} ${word()}`],
    () => [''],
  ];
  const lines = ['# syntax=docker/dockerfile:1', 'FROM scratch AS base'];
  while (lines.length < LINES) {
    const block = pick(blocks)();
    if (lines.length + block.length > LINES) lines.push(`USER ${Math.floor(rnd() * 1000)}`);
    else lines.push(...block);
  }
  return `${lines.join('\n')}\n`;
}

/** Warms up twice, then times `runs` parses; returns the median in ms and what one parse found. */
function measure(parse) {
  let found = 0;
  for (let i = 0; i < 2; i++) found = parse();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    found = parse();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { ms: median(times), found };
}

/** dockerfile-ast from npm, in a temporary directory reused between runs; undefined when unavailable. */
async function loadPeer() {
  const dir = path.join(os.tmpdir(), 'kiln-parser-bench-peer');
  const entry = path.join(dir, 'node_modules', 'dockerfile-ast', 'package.json');
  if (!fs.existsSync(entry)) {
    const npm = spawnSync('npm', ['install', '--prefix', dir, '--no-save', '--silent', 'dockerfile-ast'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (npm.status !== 0 || !fs.existsSync(entry)) return undefined;
  }
  const pkg = JSON.parse(fs.readFileSync(entry, 'utf8'));
  const main = path.join(dir, 'node_modules', 'dockerfile-ast', pkg.main ?? 'index.js');
  const mod = await import(pathToFileURL(main).href);
  const DockerfileParser = mod.DockerfileParser ?? mod.default?.DockerfileParser;
  return DockerfileParser ? { version: pkg.version, DockerfileParser } : undefined;
}

const dist = path.join(repo, 'packages', 'parser', 'dist', 'index.js');
if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: run \`pnpm build\` first`);
const { parseDockerfile } = await import(pathToFileURL(dist).href);

const text = generateDockerfile();
const bytes = Buffer.byteLength(text);
const mb = bytes / 1e6;
console.log(`input: ${text.split('\n').length - 1} lines, ${bytes} bytes; ${runs} timed runs, median`);
console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown cpu'}`);

const kiln = measure(() => parseDockerfile(text, { file: 'Dockerfile' }).instructions.length);
const row = (name, r) =>
  `${name.padEnd(24)} ${r.ms.toFixed(1).padStart(8)} ms ${(mb / (r.ms / 1000)).toFixed(1).padStart(7)} MB/s  ${r.found} instructions`;
console.log(row('@kiln/parser', kiln));

const peer = withPeer ? await loadPeer() : undefined;
if (peer) {
  const ast = measure(() => peer.DockerfileParser.parse(text).getInstructions().length);
  console.log(row(`dockerfile-ast ${peer.version}`, ast));
  console.log(`ratio: @kiln/parser takes ${(kiln.ms / ast.ms).toFixed(2)}x the time of dockerfile-ast`);
} else {
  console.log(withPeer ? 'dockerfile-ast: not installable here, peer skipped' : 'peer skipped (--no-peer)');
}
