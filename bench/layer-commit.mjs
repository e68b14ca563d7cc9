#!/usr/bin/env node
// Layer commit benchmark: LayerStore.writeLayer against `tar -c | gzip -6` and `tar -c | pigz -6`
// (a 1 GiB random file, a 1 GiB compressible file, 20,000 small files)
// on the same data in the same run, alternating, median of 3. Not a test; run on demand after
// `pnpm build`:   node bench/layer-commit.mjs [--size-mib 1024] [--files 20000] [--rounds 3]
// Each measurement runs in a fresh child process; peak RSS is that process's VmHWM (kiln) or
// the largest of the pipeline's processes as reported by /usr/bin/time (peers).
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const storeModule = join(here, '..', 'packages', 'layer-store', 'dist', 'index.js');
const runnerModule = join(here, '..', 'packages', 'runner-native', 'dist', 'index.js');

if (process.argv[2] === '--child') {
  // One kiln commit as `kiln import DIR` and a RUN step do it: the helper reads the tree's xattrs
  // in one walk, then writeLayer of the directory into a fresh store; prints seconds and VmHWM.
  const [, , , src, storeRoot] = process.argv;
  const { LayerStore, layerChangesFromDirectory } = await import(storeModule);
  const { readXattrs } = await import(runnerModule);
  const store = await LayerStore.open(storeRoot);
  const start = process.hrtime.bigint();
  const layer = await store.writeLayer(layerChangesFromDirectory(src, await readXattrs(src)));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(await readFile('/proc/self/status', 'utf8'))?.[1];
  process.stdout.write(JSON.stringify({ seconds, rssKiB: Number(hwm), bytes: layer.descriptor.size }));
  process.exit(0);
}

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const sizeMiB = arg('size-mib', 1024);
const fileCount = arg('files', 20000);
const rounds = arg('rounds', 3);

const work = await mkdtemp(join(process.env.BENCH_TMP ?? tmpdir(), 'kiln-bench-'));
try {
  const datasets = [
    { name: `${sizeMiB} MiB random file`, dir: await randomFile(join(work, 'random'), sizeMiB) },
    {
      name: `${sizeMiB} MiB compressible file (text, ~3.3:1 at gzip -6)`,
      dir: await textFile(join(work, 'text'), sizeMiB),
    },
    {
      name: `${fileCount} small files (text, 0.1-4 KiB)`,
      dir: await smallFiles(join(work, 'small'), fileCount),
    },
  ];
  const results = [];
  for (const ds of datasets) {
    const runs = { kiln: [], 'tar + gzip -6': [], 'tar + pigz -6': [] };
    for (let r = 0; r < rounds; r++) {
      for (const tool of Object.keys(runs)) {
        execFileSync('sync');
        runs[tool].push(measure(tool, ds.dir, work));
      }
    }
    results.push({ dataset: ds.name, runs });
  }
  process.stdout.write(report(results));
} finally {
  await rm(work, { recursive: true, force: true });
}

function measure(tool, dir, workDir) {
  const out = join(workDir, 'out');
  if (tool === 'kiln') {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', dir, out], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    execFileSync('rm', ['-rf', out]);
    if (r.status !== 0) throw new Error(`kiln child failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }
  const zip = tool.includes('pigz') ? 'pigz' : 'gzip';
  const script =
    `/usr/bin/time -f %M -o ${out}.t1 tar -C ${dir} --sort=name -cf - . | ` +
    `/usr/bin/time -f %M -o ${out}.t2 ${zip} -6 > ${out}`;
  const start = process.hrtime.bigint();
  execFileSync('bash', ['-o', 'pipefail', '-c', script]);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rssKiB = Math.max(
    ...['t1', 't2'].map((t) => Number(execFileSync('cat', [`${out}.${t}`], { encoding: 'utf8' }).trim())),
  );
  const bytes = Number(execFileSync('stat', ['-c', '%s', out], { encoding: 'utf8' }));
  execFileSync('rm', ['-f', out, `${out}.t1`, `${out}.t2`]);
  return { seconds, rssKiB, bytes };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function report(results) {
  const lines = [];
  for (const { dataset, runs } of results) {
    const kiln = median(runs.kiln.map((r) => r.seconds));
    lines.push(`### ${dataset}`, '');
    lines.push('| tool | median s | runs (s) | output MiB | peak RSS MiB | kiln speed vs tool |');
    lines.push('|---|---|---|---|---|---|');
    for (const [tool, rs] of Object.entries(runs)) {
      const m = median(rs.map((r) => r.seconds));
      lines.push(
        `| ${tool} | ${m.toFixed(2)} | ${rs.map((r) => r.seconds.toFixed(2)).join(', ')} | ` +
          `${(rs[0].bytes / 2 ** 20).toFixed(1)} | ${(Math.max(...rs.map((r) => r.rssKiB)) / 1024).toFixed(0)} | ` +
          `${(m / kiln).toFixed(2)}× |`,
      );
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

async function randomFile(dir, mib) {
  await mkdir(dir, { recursive: true });
  const ws = createWriteStream(join(dir, 'random.bin'));
  for (let i = 0; i < mib; i++) {
    if (!ws.write(randomBytes(1 << 20))) await new Promise((r) => ws.once('drain', r));
  }
  await new Promise((resolve, reject) => ws.end((err) => (err ? reject(err) : resolve())));
  return dir;
}

/** Pseudo-random words (a seeded generator, so every run compresses alike), like logs or sources. */
async function textFile(dir, mib) {
  await mkdir(dir, { recursive: true });
  const words = ['alpha', 'beta', 'gamma', 'delta', 'kiln', 'layer', 'store', 'tar', 'gzip', 'pigz', '\n'];
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const ws = createWriteStream(join(dir, 'text.log'));
  for (let i = 0; i < mib; i++) {
    let chunk = '';
    while (chunk.length < 1 << 20)
      chunk += `${words[Math.floor(rand() * words.length)]}${Math.floor(rand() * 1000)} `;
    if (!ws.write(chunk.slice(0, 1 << 20))) await new Promise((r) => ws.once('drain', r));
  }
  await new Promise((resolve, reject) => ws.end((err) => (err ? reject(err) : resolve())));
  return dir;
}

async function smallFiles(dir, count) {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'kiln', 'layer', 'store', 'tar', 'gzip', '\n'];
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `d${i % 100}`);
    if (i < 100) await mkdir(sub, { recursive: true });
    const len = 100 + Math.floor(rand() * 4000);
    let text = '';
    while (text.length < len) text += `${words[Math.floor(rand() * words.length)]} `;
    await writeFile(join(sub, `f${i}.txt`), text.slice(0, len));
  }
  return dir;
}
