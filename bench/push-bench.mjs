#!/usr/bin/env node
/* global fetch */
// Push benchmark: `kiln push` against `skopeo copy` to a local docker-registry, same run,
// alternating which goes first, median of 3. Not a test; run on demand after `pnpm build`:
//   node bench/push-bench.mjs [--size-mib 1024] [--files 20000] [--rounds 3]
// Both push the same bytes from the same OCI image layout: kiln's store root is one (kiln pushes
// from its store; skopeo copies `oci:<store>:<name>` with --preserve-digests, so it may not
// recompress or rewrite anything). Every measurement gets a fresh registry with empty storage.
// Wall time covers the whole command (process start included). Then a re-push of an unchanged
// image to a registry that has it: requests counted from the registry's access log, and timed.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, createWriteStream, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from './lib/processes.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const kilnBin = join(here, '..', 'node_modules', '.bin', 'kiln');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const sizeMiB = arg('size-mib', 1024);
const fileCount = arg('files', 20000);
const rounds = arg('rounds', 3);

for (const tool of ['docker-registry', 'skopeo'])
  if (spawnSync('which', [tool]).status !== 0) throw new Error(`${tool} is not installed`);

const work = await mkdtemp(join(process.env.BENCH_TMP ?? tmpdir(), 'kiln-push-bench-'));
try {
  const store = join(work, 'store');
  const images = [
    {
      name: `${sizeMiB} MiB random layer`,
      tag: 'big:1',
      dir: await randomFile(join(work, 'random'), sizeMiB),
    },
    {
      name: `${fileCount} small files`,
      tag: 'many:1',
      dir: await smallFiles(join(work, 'small'), fileCount),
    },
  ];
  for (const img of images) {
    const t0 = performance.now();
    kiln(store, ['import', img.dir, img.tag]);
    img.importSeconds = (performance.now() - t0) / 1000;
    await rm(img.dir, { recursive: true, force: true });
    img.bytes = pushedBytes(store, img.tag);
  }
  const results = [];
  for (const img of images) {
    const runs = { kiln: [], skopeo: [] };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? ['kiln', 'skopeo'] : ['skopeo', 'kiln'];
      for (const tool of order) runs[tool].push(await timedPush(tool, store, img.tag, work));
    }
    results.push({ img, runs, repush: await repush(store, img.tag, work) });
  }
  process.stdout.write(report(results));
} finally {
  await rm(work, { recursive: true, force: true });
}

function kiln(root, args) {
  const r = spawnSync(kilnBin, ['--root', root, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`kiln ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/** Bytes the push moves: the manifest, config and layers of the image in kiln's store. */
function pushedBytes(root, tag) {
  const { manifest } = JSON.parse(kiln(root, ['inspect', tag]));
  return [manifest.config, ...manifest.layers].reduce((n, d) => n + d.size, 0);
}

function pushCommand(tool, root, tag, host, dest) {
  return tool === 'kiln'
    ? [kilnBin, ['--root', root, 'push', tag, `${host}/${dest}`]]
    : [
        'skopeo',
        [
          'copy',
          '--quiet',
          '--preserve-digests',
          '--dest-tls-verify=false',
          `oci:${root}:${tag}`,
          `docker://${host}/${dest}`,
        ],
      ];
}

function run(cmd, args) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return seconds;
}

/** One push into a fresh, empty registry. */
async function timedPush(tool, root, tag, work) {
  const registry = await startRegistry(join(work, `registry-${tool}`));
  try {
    // Fresh registries may reuse a port: kiln must not "remember" blobs from an earlier one.
    await rm(join(root, 'kiln', 'blob-origins'), { recursive: true, force: true });
    execFileSync('sync');
    return run(...pushCommand(tool, root, tag, registry.host, `bench/${tag}`));
  } finally {
    await registry.stop();
  }
}

/** Pushes once, then again under a new tag: requests of the second push and its time, per tool. */
async function repush(root, tag, work) {
  const out = {};
  for (const tool of ['kiln', 'skopeo']) {
    const registry = await startRegistry(join(work, `registry-repush-${tool}`));
    try {
      await rm(join(root, 'kiln', 'blob-origins'), { recursive: true, force: true });
      run(...pushCommand(tool, root, tag, registry.host, `bench/${tag}`));
      await sleep(200);
      const before = registry.requests().length;
      const seconds = run(
        ...pushCommand(tool, root, tag, registry.host, `bench/${tag.replace(/:.*/, '')}:again`),
      );
      await sleep(200);
      const requests = registry.requests().slice(before);
      const byMethod = {};
      for (const r of requests) {
        const key = `${r.split(' ')[0]} ${/\/blobs\//.test(r) ? 'blob' : /\/manifests\//.test(r) ? 'manifest' : 'other'}`;
        byMethod[key] = (byMethod[key] ?? 0) + 1;
      }
      out[tool] = { seconds, requests: requests.length, byMethod };
    } finally {
      await registry.stop();
    }
  }
  return out;
}

/** docker-registry on a loopback port, storage and access log under `dir`; removed on stop. */
async function startRegistry(dir) {
  await mkdir(dir, { recursive: true });
  const host = `127.0.0.1:${await freePort()}`;
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: ${host}\n  secret: bench\n`,
  );
  const logFile = join(dir, 'access.log');
  const out = openSync(logFile, 'w');
  const child = spawn('timeout', ['1800', 'docker-registry', 'serve', config], {
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://${host}/v2/`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok)
      return {
        host,
        stop,
        requests: () =>
          readFileSync(logFile, 'utf8')
            .split('\n')
            .flatMap((l) => /"([A-Z]+ \/v2\/\S* HTTP\/[\d.]+" \d+)/.exec(l)?.[1] ?? []),
      };
    await sleep(100);
  }
  await stop();
  throw new Error('docker-registry did not start');
}

async function randomFile(dir, mib) {
  await mkdir(dir, { recursive: true });
  const out = createWriteStream(join(dir, 'random.bin'));
  for (let i = 0; i < mib; i++)
    if (!out.write(randomBytes(1024 * 1024))) await new Promise((r) => out.once('drain', r));
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
  return dir;
}

async function smallFiles(dir, count) {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'kiln', 'layer', 'push', 'registry', 'blob', 'chunk'];
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `d${Math.floor(i / 200)}`);
    if (i % 200 === 0) await mkdir(sub, { recursive: true });
    const length = 100 + ((i * 7919) % 4000);
    let text = '';
    while (text.length < length) text += `${words[(text.length + i) % words.length]} ${i} `;
    await writeFile(join(sub, `f${i}.txt`), text.slice(0, length));
  }
  return dir;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function report(results) {
  const lines = [
    `push to a local docker-registry (fresh registry per push), median of ${rounds}, alternating order`,
    '',
    '| image | pushed bytes | kiln push (s) | skopeo copy (s) | kiln/skopeo |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const { img, runs } of results) {
    const k = median(runs.kiln);
    const s = median(runs.skopeo);
    lines.push(
      `| ${img.name} | ${img.bytes >= 1024 * 1024 ? `${(img.bytes / 1024 / 1024).toFixed(1)} MiB` : `${(img.bytes / 1024).toFixed(0)} KiB`} | ${k.toFixed(2)} (${runs.kiln.map((x) => x.toFixed(2)).join(', ')}) | ${s.toFixed(2)} (${runs.skopeo.map((x) => x.toFixed(2)).join(', ')}) | ${(k / s).toFixed(2)}× |`,
    );
  }
  lines.push('', 're-push of an unchanged image (to a registry that has it, new tag):', '');
  lines.push('| image | tool | time (s) | requests | by kind |', '|---|---|---:|---:|---|');
  for (const { img, repush } of results)
    for (const [tool, r] of Object.entries(repush))
      lines.push(
        `| ${img.name} | ${tool} | ${r.seconds.toFixed(2)} | ${r.requests} | ${JSON.stringify(r.byMethod)} |`,
      );
  lines.push(
    '',
    `(kiln import times: ${results.map(({ img }) => `${img.name} ${img.importSeconds.toFixed(1)} s`).join('; ')})`,
    '',
  );
  return lines.join('\n');
}
