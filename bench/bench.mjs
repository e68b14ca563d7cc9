// kiln vs BuildKit (through Debian's docker.io) vs Buildah, on the same machine, in the same run.
// Started by bench/run; `bench/run --help` lists the options. Plain Node, no dependencies.
// This file is the run itself: setup (registry, dockerd, base images), the runs, the results.
// lib/: options, processes, cases, tools, settle, report.
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCases, makeCases } from './lib/cases.mjs';
import { parseOptions, runsOf, usage } from './lib/options.mjs';
import { openScratch, publishBase as publishBaseImage, startDockerd, startRegistry } from './lib/peers.mjs';
import { log, sh } from './lib/processes.mjs';
import { writeResults } from './lib/report.mjs';
import { makeSettle } from './lib/settle.mjs';
import { makeTools } from './lib/tools.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const prettier = path.join(repo, 'node_modules/.bin/prettier');

function die(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

// ---------------------------------------------------------------- options
let opts;
try {
  opts = parseOptions(process.argv.slice(2), { resultsDir: path.join(here, 'results') });
} catch (e) {
  die(e.message);
}
if (opts.help) {
  console.log(usage);
  process.exit(0);
}

if (opts.report) {
  // Re-render from a results.json: its samples and options (this run's --out).
  const doc = JSON.parse(fs.readFileSync(opts.report, 'utf8'));
  console.log(writeResults(opts.out, doc, { prettier }));
  process.exit(0);
}

// ---------------------------------------------------------------- setup
const { W, daemons, cleanup } = openScratch({ workdir: opts.workdir, prefix: 'kiln-bench', keep: opts.keep });

const started = new Date().toISOString();
const samples = []; // {case, run, tool, scenario, secs, cpuSecs, rssKiB, status, error}

log('peers: ensuring Debian packages');
sh('bash', [
  path.join(repo, 'scripts/ensure-packages.sh'),
  'docker.io',
  'buildah',
  'docker-registry',
  'skopeo',
  'pigz',
  'time',
  'busybox-static',
]);

const rootfs = path.join(W, 'busybox-rootfs');
sh('bash', [path.join(repo, 'scripts/make-busybox-rootfs.sh'), rootfs]);
function kilnSmokeTest() {
  const d = path.join(W, 'smoke');
  sh('rm', ['-rf', d]);
  fs.mkdirSync(path.join(d, 'ctx'), { recursive: true });
  fs.writeFileSync(path.join(d, 'ctx/Dockerfile'), 'FROM smoke:base\nRUN echo ok > /ok\n');
  const ok =
    sh(KILN, ['--root', path.join(d, 'root'), 'import', rootfs, 'smoke:base'], { allowFail: true }).status ===
      0 &&
    sh(KILN, ['--root', path.join(d, 'root'), 'build', '-q', path.join(d, 'ctx')], { allowFail: true })
      .status === 0;
  sh('rm', ['-rf', d]);
  return ok;
}

// kiln from a copy of the work tree taken now, so a rebuild by someone else mid-run changes nothing.
// The `kiln` command as an npm install links it (pnpm's workspace shim would add ~9 ms of `sed`
// and `dirname` forks to every command).
let KILN = opts.kiln || path.join(repo, 'packages/builder/bin/kiln');
if (opts.snapshot && !opts.kiln) {
  // The work tree may be mid-rebuild (tsc writing dist/): retry until the copy starts.
  const snap = path.join(W, 'kiln-snapshot');
  for (let attempt = 1; ; attempt++) {
    sh('rm', ['-rf', snap]);
    fs.mkdirSync(snap);
    sh('bash', [
      '-c',
      `tar -C "${repo}" --exclude=./.git --exclude=./bench/results -cf - . | tar -C "${snap}" -xf -`,
    ]);
    KILN = path.join(snap, 'packages/builder/bin/kiln');
    if (kilnSmokeTest()) break;
    if (attempt === 20) die('kiln from the work tree does not build a one-RUN image (run `pnpm build`)');
    log('kiln copy cannot build a one-RUN image (work tree being rebuilt?); retrying in 15 s');
    spawnSync('sleep', ['15']);
  }
}
const kilnHelp = sh(KILN, ['--help'], { allowFail: true }).stdout;
const kilnHas = (c) => new RegExp(`^\\s*kiln ${c}\\b`, 'm').test(kilnHelp);

const REG = await startRegistry(daemons, W);
const BASE = `${REG}/busybox:latest`;
const docker = await startDockerd(daemons, W);
const { dataRoot: dockerData } = docker;

// Base images: a rootfs -> kiln import -> OCI layout -> loopback registry (pushed by skopeo, an
// independent client); every tool pulls them from there.
const publishBase = (rootfsDir, ref, name) =>
  publishBaseImage({ kiln: KILN, scratch: W, rootfsDir, ref, name });
publishBase(rootfs, BASE, 'busybox');

// Debian base (only for the debian cases): debootstrap once (minutes, from the Debian mirror),
// kept outside the scratch dir for later runs.
const DEBIAN = `${REG}/debian:bookworm`;
if (opts.cases.some((c) => c.startsWith('debian'))) {
  if (!fs.existsSync(path.join(opts.debianRootfs, 'etc/debian_version'))) {
    log(`making a Debian rootfs in ${opts.debianRootfs} with debootstrap (a few minutes)`);
    sh('rm', ['-rf', opts.debianRootfs]);
    sh('bash', [path.join(repo, 'scripts/make-debian-rootfs.sh'), opts.debianRootfs]);
  }
  publishBase(opts.debianRootfs, DEBIAN, 'debian');
}

// ---------------------------------------------------------------- cases
const C = path.join(W, 'cases');
const cases = makeCases({
  base: BASE,
  debian: DEBIAN,
  files: opts.files,
  bytes: opts.bytes,
  bigBytes: opts.bigBytes,
});
for (const name of opts.cases) if (!cases[name]) die(`unknown case ${name}`);
/** Base images a case starts from; every tool has them before its cold build ("base present"). */
const basesOf = (c) => [BASE, ...(cases[c]?.bases?.() ?? [])];
/** The debian-apt case reaches the Debian mirror: every tool's RUN gets the host's network. */
const netArgs = (c) => (c === 'debian-apt' ? ['--network', 'host'] : []);
generateCases(C, opts.cases, cases);
log(`cases generated in ${C}`);

// ---------------------------------------------------------------- tools
const kilnRoot = path.join(W, 'kiln-root');
const buildahDir = path.join(W, 'buildah');
const settle = makeSettle({
  enabled: opts.settle,
  casesDir: C,
  stores: [kilnRoot, dockerData, path.join(buildahDir, 'root')],
  kiln: KILN,
  docker,
});
const tools = makeTools({
  repo,
  kiln: KILN,
  kilnHas,
  registry: REG,
  base: BASE,
  busyboxRootfs: rootfs,
  casesDir: C,
  scratch: W,
  kilnRoot,
  buildahDir,
  docker,
  basesOf,
  netArgs,
  settle,
});
for (const t of opts.tools) if (!tools[t]) die(`unknown tool ${t}`);

// ---------------------------------------------------------------- runs
const machine = {
  nproc: os.cpus().length,
  cpu: os.cpus()[0]?.model,
  memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  kernel: os.release(),
  os: (fs.readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)/m) || [])[1],
  fs: sh('stat', ['-f', '-c', '%T', W]).stdout.trim(),
};
const versions = Object.fromEntries(opts.tools.map((t) => [t, tools[t].version()]));
versions.registry = sh('dpkg-query', ['-W', '-f', '${Version}', 'docker-registry']).stdout;
versions.skopeo = sh('skopeo', ['--version']).stdout.trim();
log('versions', versions);

/** Writes bench/results (or --out) from the samples so far; returns the table. */
function results(finished = new Date().toISOString()) {
  const options = { ...opts, out: undefined, workdir: undefined };
  return writeResults(opts.out, { started, finished, machine, versions, options, samples }, { prettier });
}

function record(c, run, tool, scenario, r) {
  const s = { case: c, run, tool, scenario };
  if (r.unsupported) Object.assign(s, { status: 'unsupported', error: r.unsupported });
  else if (!r.ok) Object.assign(s, { status: 'failed', error: r.tail, secs: r.secs });
  else
    Object.assign(s, {
      status: 'ok',
      secs: +r.secs.toFixed(3),
      cpuSecs: r.cpuSecs === null ? null : +r.cpuSecs.toFixed(2),
      load1: r.load1,
      rssKiB: r.rssKiB,
      clientRssKiB: r.clientRssKiB,
      daemonRssBeforeKiB: r.daemonRssBeforeKiB,
    });
  samples.push(s);
  log(
    `${c} run ${run} ${tool.padEnd(8)} ${scenario.padEnd(8)} ${s.status === 'ok' ? `${s.secs.toFixed(2)} s  cpu ${s.cpuSecs} s  load ${s.load1}  ${Math.round((s.rssKiB || 0) / 1024)} MiB` : `${s.status}: ${String(s.error).split('\n').slice(-2).join(' | ')}`}`,
  );
  return s.status === 'ok';
}

function want(s) {
  return opts.scenarios.includes(s);
}
for (const c of opts.cases) {
  const runs = runsOf(c, opts);
  const changeFile = path.join(C, c, cases[c].changeFile);
  const original = fs.readFileSync(changeFile);
  for (let run = 1; run <= runs; run++) {
    // Rotate the order each run so no tool always goes first (A B C, B C A, C A B, ...).
    const order = opts.tools.map((_, i) => opts.tools[(i + run - 1) % opts.tools.length]);
    for (const t of order) {
      const tool = tools[t];
      const tag = `bench-${c}:${t}-${run}`;
      tool.reset(c);
      fs.writeFileSync(changeFile, original);
      sh('touch', ['-h', '-d', '@1000000000', changeFile]);
      settle(c);
      const first = tool.build(c, tag);
      if (want('cold') ? !record(c, run, t, 'cold', first) : !first.ok) continue;
      if (want('cached')) record(c, run, t, 'cached', tool.build(c, tag));
      if (want('changed')) {
        // One edit that keeps the file valid for the steps that read it (a shell comment, JSON).
        const edit = cases[c].change?.(run) ?? `changed in run ${run}\n`;
        fs.writeFileSync(changeFile, Buffer.concat([original, Buffer.from(edit)]));
        record(c, run, t, 'changed', tool.build(c, tag));
      }
      if (want('push')) record(c, run, t, 'push', tool.push(c, tag, `${REG}/bench/${c}-${t}:run${run}`));
      if (want('freshci')) {
        fs.writeFileSync(changeFile, original);
        sh('touch', ['-h', '-d', '@1000000000', changeFile]);
        record(c, run, t, 'freshci', tool.freshci(c, tag, `${REG}/bench/${c}-${t}-ci:run${run}`));
      }
    }
  }
  fs.writeFileSync(changeFile, original);
  for (const t of opts.tools) tools[t].cleanup();
  results(); // after each case, so a long run leaves something behind if stopped
}

// ---------------------------------------------------------------- results
console.log(results());
log(`results in ${opts.out}`);
cleanup(); // the daemons keep the event loop alive: stop them now rather than at 'exit'
process.exit(0);
