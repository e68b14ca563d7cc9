// Per-step sandbox overhead of an empty step (`true` on a busybox rootfs): kiln's helper, kiln's
// runStep (the library call a RUN makes) and a whole `kiln build` step, against Buildah
// (`buildah run --isolation chroot`) and `unshare ... chroot`, all in the same run, alternating.
// Not a test: run as root with `node bench/step-overhead.mjs [--runs N] [--steps N] [--no-build]`
// after `pnpm build`. --steps (default 10) is how many RUNs the longer build adds: more of them
// average out the start-up noise of the two `kiln build` processes.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { median } from './lib/report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const runs = option('--runs', 30);
const steps = option('--steps', 10);
if (!(Number.isInteger(runs) && runs > 0 && Number.isInteger(steps) && steps > 0))
  throw new Error('--runs and --steps take a positive integer');
const withBuild = !args.includes('--no-build');
if (process.getuid?.() !== 0) throw new Error('run as root (kiln and buildah need namespaces)');

const helper = path.join(repo, 'packages/runner-native/native/kiln-helper');
const kilnBin = path.join(repo, 'node_modules/.bin/kiln');
const { Snapshotter, runStep } = await import(path.join(repo, 'packages/runner-native/dist/index.js'));
const { sha256Digest } = await import(path.join(repo, 'packages/oci/dist/index.js'));

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-step-bench-'));
const rootfs = path.join(work, 'rootfs');
const sh = (cmd, argv, opts = {}) => {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr || r.error}`);
  return typeof r.stdout === 'string' ? r.stdout.trim() : r.stdout;
};
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

const cleanups = [];
try {
  sh('bash', [path.join(repo, 'scripts/make-busybox-rootfs.sh'), rootfs]);

  // kiln's library path: the rootfs as an unpacked layer, one overlay snapshot per step.
  const snapshotter = new Snapshotter(path.join(work, 'snapshots'));
  const layer = sha256Digest('bench-busybox');
  await snapshotter.unpack(
    layer,
    Readable.from(sh('tar', ['-C', rootfs, '-c', '.'], { encoding: 'buffer' })),
  );
  const sink = { stdout: process.stdout, stderr: process.stderr };

  // Buildah: a working container from scratch holding the same rootfs (vfs storage in a temp dir).
  const bs = [
    '--root',
    path.join(work, 'buildah'),
    '--runroot',
    path.join(work, 'buildah-run'),
    '--storage-driver',
    'vfs',
  ];
  const ctr = sh('buildah', [...bs, 'from', 'scratch']);
  cleanups.push(() => spawnSync('buildah', [...bs, 'rm', ctr]));
  const mnt = sh('buildah', [...bs, 'mount', ctr]);
  sh('cp', ['-a', `${rootfs}/.`, mnt]);

  // A whole build step: a Dockerfile with 1 RUN and one with 1 + steps; per-step = difference / steps.
  const store = path.join(work, 'store');
  const dockerfiles = {};
  if (withBuild) {
    sh(kilnBin, ['--root', store, 'import', rootfs, 'bench-busybox:latest']);
    for (const n of [1, 1 + steps]) {
      const ctx = path.join(work, `ctx-${n}`);
      fs.mkdirSync(ctx);
      const runLines = Array.from({ length: n }, (_, i) => `RUN true # ${i}\n`).join('');
      fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM bench-busybox\n${runLines}`);
      dockerfiles[n] = ctx;
    }
  }

  let i = 0;
  const tools = {
    'kiln-helper run (overlay)': () => {
      const d = path.join(work, `h${i++}`);
      for (const sub of ['upper', 'work']) fs.mkdirSync(path.join(d, sub), { recursive: true });
      const t0 = process.hrtime.bigint();
      sh(helper, [
        'run',
        '--lower',
        rootfs,
        '--upper',
        `${d}/upper`,
        '--work',
        `${d}/work`,
        '--',
        '/bin/true',
      ]);
      const t = ms(t0);
      fs.rmSync(d, { recursive: true, force: true });
      return t;
    },
    'kiln runStep (prepare+run+changes+release)': async () => {
      const t0 = process.hrtime.bigint();
      const snap = await snapshotter.prepare([layer]);
      const r = await runStep(
        { snapshot: snap, args: ['/bin/true'], env: [], cwd: '/', network: 'host' },
        sink,
      );
      for await (const _ of snap.changes());
      await snap.release();
      if (r.exitCode !== 0) throw new Error(`runStep exited ${r.exitCode}`);
      return ms(t0);
    },
    'buildah run --isolation chroot': () => {
      const t0 = process.hrtime.bigint();
      sh('buildah', [...bs, 'run', '--isolation', 'chroot', ctr, '/bin/true']);
      return ms(t0);
    },
    'unshare -mpfui --mount-proc chroot': () => {
      const t0 = process.hrtime.bigint();
      sh('unshare', [
        '-m',
        '-p',
        '-f',
        '-u',
        '-i',
        `--mount-proc=${rootfs}/proc`,
        'chroot',
        rootfs,
        '/bin/true',
      ]);
      return ms(t0);
    },
  };
  if (withBuild) {
    tools[`kiln build, per RUN step ((${1 + steps} RUN - 1 RUN) / ${steps})`] = () => {
      const time = (n) => {
        const t0 = process.hrtime.bigint();
        sh(kilnBin, ['--root', store, 'build', '--no-cache', '-q', dockerfiles[n]]);
        return ms(t0);
      };
      return (time(1 + steps) - time(1)) / steps;
    };
  }

  const names = Object.keys(tools);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) await tools[n](); // warm-up: page cache, first-run costs
  for (let r = 0; r < runs; r++) {
    // Alternate, rotating the order every round so no tool always runs first.
    for (let k = 0; k < names.length; k++) {
      const n = names[(r + k) % names.length];
      times[n].push(await tools[n]());
    }
  }
  const base = median(times['unshare -mpfui --mount-proc chroot']);
  console.log(
    `\n${runs} runs, ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log('| what | median | min | max | vs unshare+chroot |\n|---|---:|---:|---:|---:|');
  for (const n of names) {
    const t = times[n];
    const f = (x) => `${x.toFixed(1)} ms`;
    console.log(
      `| ${n} | ${f(median(t))} | ${f(Math.min(...t))} | ${f(Math.max(...t))} | ${(median(t) / base).toFixed(2)}× |`,
    );
  }
} finally {
  for (const c of cleanups.reverse()) c();
  fs.rmSync(work, { recursive: true, force: true });
}
