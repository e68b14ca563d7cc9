// kiln vs BuildKit (through Debian's docker.io) vs Buildah, on the same machine, in the same run.
// Started by bench/run; `bench/run --help` lists the options. Plain Node, no dependencies.
import { Buffer } from 'node:buffer';
import { spawnSync, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCipheriv } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

// ---------------------------------------------------------------- options
const opts = {
  runs: 3,
  bigRuns: 0, // 0: same as runs
  cases: ['hello', 'multistage', 'bigcontext', 'biglayer', 'debian', 'debian-apt'],
  debianRootfs: '/var/tmp/kiln-bench-debian',
  tools: ['kiln', 'buildkit', 'buildah'],
  scenarios: ['cold', 'cached', 'changed', 'push', 'freshci'],
  out: path.join(here, 'results'),
  workdir: '',
  keep: false,
  snapshot: true,
  settle: true,
  files: 20000,
  bytes: 100_000_000,
  bigBytes: 1024 * 1024 * 1024,
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => {
    const v = argv[++i];
    if (v === undefined) die(`${a} needs a value`);
    return v;
  };
  if (a === '--runs') opts.runs = Number(val());
  else if (a === '--big-runs') opts.bigRuns = Number(val());
  else if (a === '--cases') opts.cases = val().split(',');
  else if (a === '--tools') opts.tools = val().split(',');
  else if (a === '--scenarios') opts.scenarios = val().split(',');
  else if (a === '--out') opts.out = path.resolve(val());
  else if (a === '--workdir') opts.workdir = path.resolve(val());
  else if (a === '--keep') opts.keep = true;
  else if (a === '--no-snapshot') opts.snapshot = false;
  else if (a === '--no-settle') opts.settle = false;
  else if (a === '--kiln') opts.kiln = path.resolve(val());
  else if (a === '--debian-rootfs') opts.debianRootfs = path.resolve(val());
  else if (a === '--report') opts.report = path.resolve(val());
  else if (a === '--quick') {
    // A few minutes: the small cases, a smaller bigcontext, one run, no biglayer.
    opts.runs = 1;
    opts.cases = ['hello', 'multistage', 'bigcontext'];
    opts.files = 2000;
    opts.bytes = 10_000_000;
  } else if (a === '--help' || a === '-h') {
    console.log(`usage: bench/run [options]
  --runs N          runs per case (default 3); tools alternate inside each run (A B C A B C ...)
  --big-runs N      runs for biglayer (default: --runs)
  --cases LIST      hello,multistage,bigcontext,biglayer,debian,debian-apt (default: all)
  --debian-rootfs D a debootstrap'ed Debian rootfs to use (default: made once with
                    scripts/make-debian-rootfs.sh and kept in /var/tmp/kiln-bench-debian)
  --tools LIST      kiln,buildkit,buildah (default: all)
  --scenarios LIST  cold,cached,changed,push,freshci (default: all)
  --quick           1 run of hello, multistage and a 2,000-file bigcontext
  --out DIR         results directory (default bench/results): results.json, results.md, ratios.svg
  --workdir DIR     scratch directory (default: a new one under /tmp, removed at the end)
  --keep            keep the scratch directory
  --no-snapshot     run kiln from the work tree instead of a copy taken at start
  --no-settle       skip dropping caches before cold and freshci builds (see settle())
  --kiln PATH       the kiln executable to measure (default: a copy of this work tree's)
  --report FILE     only re-render results.md and ratios.svg (into --out) from a results.json`);
    process.exit(0);
  } else die(`unknown option ${a}`);
}
if (!opts.bigRuns) opts.bigRuns = opts.runs;

const labels = { kiln: 'kiln', buildkit: 'BuildKit (docker.io)', buildah: 'Buildah' };

function die(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

// ---------------------------------------------------------------- processes
function sh(cmd, args, { env, allowFail = false, input, cwd } = {}) {
  const r = spawnSync(cmd, args, {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    input,
    cwd,
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0 && !allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${(r.stderr || '').slice(-3000)}`);
  }
  return r;
}

/** Runs a command under /usr/bin/time: wall seconds (hrtime), peak RSS in KiB, status, output tail. */
function timed(cmd, args, { env, logFile } = {}) {
  const tf = path.join(W, 'time.out');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', '-o', tf, cmd, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  let rssKiB = null;
  let cpuSecs = null;
  try {
    const lines = fs.readFileSync(tf, 'utf8').trim().split('\n');
    const [u, sy, m] = lines[lines.length - 1].split(' ').map(Number);
    rssKiB = m || null;
    cpuSecs = u + sy;
  } catch {
    // not there: nothing to do
  }
  if (logFile) fs.appendFileSync(logFile, `$ ${cmd} ${args.join(' ')}\n${r.stdout}${r.stderr}\n`);
  return {
    secs,
    rssKiB,
    cpuSecs,
    load1: Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
    ok: r.status === 0,
    tail: `${r.stdout}\n${r.stderr}`.trim().slice(-1500),
  };
}

const children = [];
function startDaemon(name, cmd, args, env) {
  const out = fs.openSync(path.join(W, `${name}.log`), 'a');
  const p = spawn(cmd, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out],
    detached: true,
  });
  children.push({ name, p });
  fs.appendFileSync(path.join(W, 'daemons.pids'), `${p.pid}\n`); // for bench/run's trap
  return p;
}
async function waitFor(what, fn, secs = 60) {
  for (let i = 0; i < secs * 4; i++) {
    try {
      if (await fn()) return;
    } catch {
      // not there: nothing to do
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}
function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const { name, p } of children.reverse()) {
    if (p.exitCode !== null) continue;
    try {
      process.kill(-p.pid, 'SIGTERM');
    } catch {
      // not there: nothing to do
    }
    // dockerd takes a few seconds to stop its containerd; wait, then insist.
    for (let i = 0; i < 100 && isAlive(p.pid); i++) spawnSync('sleep', ['0.1']);
    if (isAlive(p.pid)) {
      log(`${name} did not stop, killing`);
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        // not there: nothing to do
      }
    }
  }
  if (W && !opts.keep) {
    // Overlay mounts left by a killed build would make rm fail: unmount what lies under W first.
    const mounts = fs
      .readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter((m) => m && m.startsWith(W + '/'))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) spawnSync('umount', ['-l', m]);
    spawnSync('rm', ['-rf', W]);
  }
}
function isAlive(pid) {
  try {
    // A child we have not reaped yet (the event loop is blocked here) is a zombie: count it as gone.
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

let samples = []; // {case, run, tool, scenario, secs, cpuSecs, rssKiB, status, error}
let started = new Date().toISOString();
let machine = {};
let versions = {};
if (opts.report) {
  const doc = JSON.parse(fs.readFileSync(opts.report, 'utf8'));
  ({ samples, started, machine, versions } = doc);
  const out = opts.out;
  Object.assign(opts, doc.options, { out });
  console.log(writeResults(doc.finished));
  cleaned = true; // nothing was started
  process.exit(0);
}

// ---------------------------------------------------------------- setup
const W = opts.workdir || fs.mkdtempSync('/tmp/kiln-bench-');
fs.mkdirSync(W, { recursive: true });
log(`scratch: ${W}`);

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

const DOCKER = '/usr/bin/docker';
const PORT = await freePort();
const REG = `localhost:${PORT}`;
const BASE = `${REG}/busybox:latest`;

// registry
fs.mkdirSync(path.join(W, 'registry'));
fs.writeFileSync(
  path.join(W, 'registry.yml'),
  `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${W}/registry\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${PORT}\n`,
);
startDaemon('registry', '/usr/bin/docker-registry', ['serve', path.join(W, 'registry.yml')]);
await waitFor('registry', async () => (await globalThis.fetch(`http://${REG}/v2/`)).ok);
log(`registry on ${REG}`);

// dockerd
const D = path.join(W, 'docker');
fs.mkdirSync(D);
const dockerEnv = {
  DOCKER_HOST: `unix://${D}/docker.sock`,
  DOCKER_BUILDKIT: '1',
  DOCKER_CONFIG: path.join(D, 'config'),
};
async function startDockerd(extra) {
  const p = startDaemon('dockerd', '/usr/sbin/dockerd', [
    '--data-root',
    path.join(D, 'data'),
    '--exec-root',
    path.join(D, 'exec'),
    '--pidfile',
    path.join(D, 'dockerd.pid'),
    '--host',
    `unix://${D}/docker.sock`,
    '--storage-driver',
    'overlay2',
    ...extra,
  ]);
  await waitFor(
    'dockerd',
    () => p.exitCode === null && sh(DOCKER, ['info'], { env: dockerEnv, allowFail: true }).status === 0,
    60,
  );
  return p;
}
try {
  await startDockerd([]);
} catch {
  log('dockerd with default networking failed; retrying with --bridge=none --iptables=false');
  for (const c of children.filter((c) => c.name === 'dockerd'))
    try {
      process.kill(-c.p.pid, 'SIGKILL');
    } catch {
      // not there: nothing to do
    }
  await startDockerd(['--bridge=none', '--iptables=false', '--ip6tables=false']);
}
const dockerdPid = Number(fs.readFileSync(path.join(D, 'dockerd.pid'), 'utf8'));
log(`dockerd pid ${dockerdPid}`);

// Base images: a rootfs -> kiln import -> OCI layout -> loopback registry (pushed by skopeo, an
// independent client); every tool pulls them from there.
const seed = path.join(W, 'kiln-seed');
fs.mkdirSync(path.join(W, 'seedctx'));
function publishBase(rootfsDir, ref, name) {
  sh(KILN, ['--root', seed, 'import', rootfsDir, ref]);
  fs.writeFileSync(path.join(W, 'seedctx/Dockerfile'), `FROM ${ref}\n`);
  const layout = path.join(W, `${name}-oci`);
  sh(KILN, [
    '--root',
    seed,
    'build',
    '-q',
    '--output',
    `type=oci,dest=${layout},tar=false`,
    path.join(W, 'seedctx'),
  ]);
  sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}`, `docker://${ref}`]);
  log(`base ${ref} pushed`);
}
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
/** Deterministic bytes: AES-128-CTR keystream with a fixed key, so files do not compress away. */
function keystream(seedText, n) {
  const key = Buffer.alloc(16);
  key.write(seedText.padEnd(16, '.').slice(0, 16));
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}
const cases = {
  hello: {
    dockerfile: `FROM ${BASE}\nRUN echo hello > /hello.txt\nCOPY app.txt /app.txt\n`,
    changeFile: 'app.txt',
    gen(dir) {
      fs.writeFileSync(path.join(dir, 'app.txt'), 'hello from the build context\n');
    },
  },
  multistage: {
    dockerfile:
      `FROM ${BASE} AS a\nRUN sleep 2 && echo a > /a.txt\n` +
      `FROM ${BASE} AS b\nRUN sleep 2 && echo b > /b.txt\n` +
      `FROM ${BASE}\nCOPY --from=a /a.txt /a.txt\nCOPY --from=b /b.txt /b.txt\nCOPY app.txt /app.txt\n`,
    changeFile: 'app.txt',
    gen(dir) {
      fs.writeFileSync(path.join(dir, 'app.txt'), 'multistage\n');
    },
  },
  bigcontext: {
    dockerfile: `FROM ${BASE}\nCOPY files /data\nRUN touch /data/d00/f00000\n`,
    changeFile: 'files/d07/f00007',
    gen(dir) {
      const per = Math.floor(opts.bytes / opts.files);
      const data = keystream('bigcontext', opts.bytes);
      for (let i = 0; i < opts.files; i++) {
        const d = path.join(dir, 'files', `d${String(i % 100).padStart(2, '0')}`);
        if (i < 100) fs.mkdirSync(d, { recursive: true });
        fs.writeFileSync(
          path.join(d, `f${String(i).padStart(5, '0')}`),
          data.subarray(i * per, (i + 1) * per),
        );
      }
    },
  },
  debian: {
    // Shell steps on a real distribution base: users, files, a script from the context.
    bases: () => [DEBIAN],
    dockerfile:
      `FROM ${DEBIAN}\n` +
      `RUN useradd --create-home --shell /bin/bash app\n` +
      `RUN mkdir -p /srv/data && for i in $(seq 1 200); do echo "line $i" > /srv/data/f$i.txt; done\n` +
      `RUN dpkg-query -W -f '\${Package} \${Version}\\n' > /srv/packages.txt\n` +
      `WORKDIR /srv\n` +
      `COPY app.sh /srv/app.sh\n` +
      `RUN /srv/app.sh > /srv/report.txt\n` +
      `USER app\n`,
    changeFile: 'app.sh',
    change: (run) => `# changed in run ${run}\n`,
    gen(dir) {
      fs.writeFileSync(
        path.join(dir, 'app.sh'),
        '#!/bin/bash\nwc -l /srv/packages.txt; ls /srv/data | wc -l\n',
        {
          mode: 0o755,
        },
      );
    },
  },
  'debian-apt': {
    // apt-get from the Debian mirror in a RUN (host network for every tool).
    bases: () => [DEBIAN],
    dockerfile:
      `FROM ${DEBIAN}\n` +
      `RUN apt-get update && apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*\n` +
      `COPY app.json /app.json\n` +
      `RUN jq .name /app.json > /name.txt\n`,
    changeFile: 'app.json',
    change: (run) => `{"name":"changed in run ${run}"}\n`,
    gen(dir) {
      fs.writeFileSync(path.join(dir, 'app.json'), '{"name":"debian-apt"}\n');
    },
  },
  biglayer: {
    // busybox head takes no 1G suffix: the byte count is spelled out.
    dockerfile: `FROM ${BASE}\nRUN head -c ${opts.bigBytes} /dev/urandom > /big.bin\nCOPY app.txt /app.txt\n`,
    changeFile: 'app.txt',
    gen(dir) {
      fs.writeFileSync(path.join(dir, 'app.txt'), 'biglayer\n');
    },
  },
};
for (const name of opts.cases) if (!cases[name]) die(`unknown case ${name}`);
/** Base images a case starts from; every tool has them before its cold build ("base present"). */
const basesOf = (c) => [BASE, ...(cases[c]?.bases?.() ?? [])];
/** The debian-apt case reaches the Debian mirror: every tool's RUN gets the host's network. */
const netArgs = (c) => (c === 'debian-apt' ? ['--network', 'host'] : []);
for (const name of opts.cases) {
  const dir = path.join(C, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'Dockerfile'), cases[name].dockerfile);
  cases[name].gen(dir);
  // Same mtimes everywhere: no tool gets a different answer from a stat-based shortcut.
  sh('find', [dir, '-exec', 'touch', '-h', '-d', '@1000000000', '{}', '+']);
}
log(`cases generated in ${C}`);

// ---------------------------------------------------------------- tools
const B = path.join(W, 'buildah');
const buildahArgs = [
  '--root',
  path.join(B, 'root'),
  '--runroot',
  path.join(B, 'runroot'),
  '--storage-driver',
  'overlay',
];
const logs = path.join(W, 'logs');
fs.mkdirSync(logs);

function procStatus(pid, key) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
const CLK = Number(sh('getconf', ['CLK_TCK']).stdout) || 100;
/** utime+stime (+ reaped children's) of a process, in seconds. */
function cpuOf(pid, withChildren) {
  try {
    const f = fs
      .readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    // fields after ") ": state is [0], utime [11], stime [12], cutime [13], cstime [14]
    const t = +f[11] + +f[12] + (withChildren ? +f[13] + +f[14] : 0);
    return t / CLK;
  } catch {
    return 0;
  }
}
/** dockerd and its children (containerd, shims): BuildKit runs inside dockerd. */
function daemonPids() {
  const r = sh('ps', ['-e', '-o', 'pid=,ppid='], { allowFail: true })
    .stdout.trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
  const set = new Set([dockerdPid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of r) {
      if (set.has(ppid) && !set.has(pid)) {
        set.add(pid);
        grew = true;
      }
    }
  }
  return [...set];
}

const tools = {
  kiln: {
    label: 'kiln',
    root: path.join(W, 'kiln-root'),
    version: () => {
      const pkg = JSON.parse(
        fs.readFileSync(path.join(repo, 'packages/builder/package.json'), 'utf8'),
      ).version;
      const rev = sh('git', ['-C', repo, 'rev-parse', '--short', 'HEAD'], { allowFail: true }).stdout.trim();
      return `kiln ${pkg} (${rev}${sh('git', ['-C', repo, 'status', '--porcelain'], { allowFail: true }).stdout.trim() ? ', dirty tree' : ''}), node ${process.version}`;
    },
    reset(c) {
      sh('rm', ['-rf', this.root]);
      for (const b of basesOf(c)) sh(KILN, ['--root', this.root, 'pull', b], { allowFail: true });
      if (!sh(KILN, ['--root', this.root, 'images'], { allowFail: true }).stdout.includes(`${REG}/busybox`))
        sh(KILN, ['--root', this.root, 'import', rootfs, BASE]);
    },
    build(c, tag, extra = []) {
      return timed(
        KILN,
        ['--root', this.root, 'build', '-q', ...netArgs(c), ...extra, '-t', tag, path.join(C, c)],
        {
          logFile: path.join(logs, `kiln-${c}.log`),
        },
      );
    },
    push(c, tag, dest) {
      if (!kilnHas('push')) return { unsupported: 'no `kiln push` command' };
      return timed(KILN, ['--root', this.root, 'push', tag, `${dest}`], {
        logFile: path.join(logs, `kiln-${c}.log`),
      });
    },
    freshci(c, tag, ref) {
      // Seed on this store and export every step to the registry; then an empty store (a new CI
      // runner: only the base pulled) builds with the cache imported from there.
      const cache = `${ref.replace(/:[^:/]*$/, '')}-cache:latest`;
      const seedBuild = this.build(c, tag, ['--cache-to', `type=registry,ref=${cache},mode=max`]);
      if (!seedBuild.ok) return seedBuild;
      this.reset(c);
      settle(c);
      return this.build(c, tag, ['--cache-from', `type=registry,ref=${cache}`]);
    },
    cleanup() {
      sh('rm', ['-rf', this.root]);
    },
  },
  buildkit: {
    label: 'BuildKit (docker.io)',
    version: () => {
      const v = sh(DOCKER, ['version', '--format', '{{.Server.Version}}'], {
        env: dockerEnv,
        allowFail: true,
      }).stdout.trim();
      return `Docker Engine ${v} (Debian docker.io, built-in BuildKit), containerd ${sh('containerd', ['--version'], { allowFail: true }).stdout.split(' ')[2] || '?'}`;
    },
    docker(args, extraEnv) {
      return sh(DOCKER, args, { env: { ...dockerEnv, ...extraEnv }, allowFail: true });
    },
    reset(c) {
      const bases = basesOf(c);
      const imgs = this.docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])
        .stdout.split('\n')
        .filter((s) => s && !bases.includes(s));
      if (imgs.length) this.docker(['rmi', '-f', ...imgs]);
      this.docker(['builder', 'prune', '-af']);
      this.docker(['image', 'prune', '-f']);
      for (const b of bases)
        if (!this.docker(['image', 'inspect', b]).stdout.includes('Id'))
          sh(DOCKER, ['pull', '-q', b], { env: dockerEnv });
    },
    withDaemonPeak(fn) {
      const pids = daemonPids();
      const cpu0 =
        cpuOf(dockerdPid, true) +
        pids.filter((p) => p !== dockerdPid).reduce((s, p) => s + cpuOf(p, true), 0);
      const before = pids.map((p) => procStatus(p, 'VmRSS') || 0);
      for (const p of pids)
        try {
          fs.writeFileSync(`/proc/${p}/clear_refs`, '5');
        } catch {
          // not there: nothing to do
        }
      const r = fn();
      // VmHWM of each daemon process since the reset, plus the docker client's own peak.
      const hwm = pids.reduce((s, p) => s + (procStatus(p, 'VmHWM') || 0), 0);
      r.daemonRssBeforeKiB = before.reduce((a, b) => a + b, 0);
      r.clientRssKiB = r.rssKiB;
      r.rssKiB = hwm + (r.rssKiB || 0);
      // CPU: the client's, plus what dockerd and its children (with reaped grandchildren) used meanwhile.
      const now = daemonPids();
      const cpu1 = now.reduce((s, p) => s + cpuOf(p, true), 0);
      r.cpuSecs = (r.cpuSecs || 0) + Math.max(0, cpu1 - cpu0);
      return r;
    },
    build(c, tag, extra = []) {
      return this.withDaemonPeak(() =>
        timed(DOCKER, ['build', '-q', ...netArgs(c), ...extra, '-t', tag, path.join(C, c)], {
          env: dockerEnv,
          logFile: path.join(logs, `buildkit-${c}.log`),
        }),
      );
    },
    push(c, tag, dest) {
      this.docker(['tag', tag, dest]);
      return this.withDaemonPeak(() =>
        timed(DOCKER, ['push', '-q', dest], {
          env: dockerEnv,
          logFile: path.join(logs, `buildkit-${c}.log`),
        }),
      );
    },
    freshci(c, tag, ref) {
      // BuildKit in dockerd exports inline cache only: build with it, push, wipe everything, rebuild from it.
      const seedBuild = this.build(c, tag, ['--build-arg', 'BUILDKIT_INLINE_CACHE=1']);
      if (!seedBuild.ok) return seedBuild;
      this.docker(['tag', tag, ref]);
      this.docker(['push', '-q', ref]);
      this.reset(c);
      for (const i of this.docker(['images', '-q', ref]).stdout.split('\n').filter(Boolean))
        this.docker(['rmi', '-f', i]);
      settle(c);
      return this.build(c, tag, ['--cache-from', ref]);
    },
    cleanup() {
      this.reset('hello');
    },
  },
  buildah: {
    label: 'Buildah',
    version: () => sh('buildah', ['--version']).stdout.trim(),
    reset(c) {
      sh('buildah', [...buildahArgs, 'rmi', '-a', '-f'], { allowFail: true });
      for (const b of basesOf(c)) sh('buildah', [...buildahArgs, 'pull', '-q', '--tls-verify=false', b]);
    },
    build(c, tag, extra = []) {
      return timed(
        'buildah',
        [
          ...buildahArgs,
          'bud',
          '--isolation',
          'chroot',
          '--layers',
          '-q',
          ...netArgs(c),
          ...extra,
          '-t',
          tag,
          path.join(C, c),
        ],
        {
          logFile: path.join(logs, `buildah-${c}.log`),
        },
      );
    },
    push(c, tag, dest) {
      return timed('buildah', [...buildahArgs, 'push', '-q', '--tls-verify=false', tag, `docker://${dest}`], {
        logFile: path.join(logs, `buildah-${c}.log`),
      });
    },
    freshci(c, tag, ref) {
      const cacheRepo = `${ref.replace(/:[^:/]*$/, '')}-cache`;
      const seedBuild = this.build(c, tag, ['--cache-to', cacheRepo, '--tls-verify=false']);
      if (!seedBuild.ok) return seedBuild;
      this.reset(c);
      settle(c);
      return this.build(c, tag, ['--cache-from', cacheRepo, '--tls-verify=false']);
    },
    cleanup() {
      sh('buildah', [...buildahArgs, 'rmi', '-a', '-f'], { allowFail: true });
    },
  },
};
for (const t of opts.tools) if (!tools[t]) die(`unknown tool ${t}`);

/**
 * Before a timed build from an empty cache (cold, freshci), after the tool's cleanup. This ext4
 * has no journal, and without one the kernel passes over inodes freed in the last 60 s (300 s
 * while their inode table block is dirty) when it allocates new ones (fs/ext4/ialloc.c,
 * recently_deleted), looking each up in the buffer cache: right after a cleanup deleted 40,000
 * files, creating 20,000 costs ~180 µs each instead of ~15 (measured here with a loop of
 * open(O_CREAT)). Which tool had deleted what just before would decide the cold rows. Writing
 * back and dropping clean caches ends it (a block not cached counts as written out long ago);
 * then every tool's store (bases only at this point), the case's context and the tools' own
 * files are read back, so no tool pays disk reads the others do not.
 */
function settle(c) {
  if (!opts.settle) return;
  sh('sync', []);
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
  } catch {
    return; // not root: nothing dropped, nothing to read back
  }
  const kilnTree = path.resolve(fs.realpathSync(KILN), '../../../..');
  const binaries = ['runc', 'containerd-shim-runc-v2', 'buildah', 'docker-init']
    .map((b) => sh('which', [b], { allowFail: true }).stdout.trim())
    .filter(Boolean);
  const read = [
    path.join(C, c),
    tools.kiln.root,
    path.join(D, 'data'),
    path.join(B, 'root'),
    ...['builder/bin', 'builder/dist', 'runner-native/dist', 'runner-native/native'].map((d) =>
      path.join(kilnTree, 'packages', d),
    ),
    process.execPath,
    DOCKER,
    ...binaries,
  ];
  const script = 'find "$@" -xdev -type f -print0 2>/dev/null | xargs -0 -r cat > /dev/null 2>&1; true';
  sh('sh', ['-c', script, 'settle', ...read], { allowFail: true });
  sh(KILN, ['--version'], { allowFail: true });
  sh(DOCKER, ['version'], { env: dockerEnv, allowFail: true });
  sh('buildah', ['--version'], { allowFail: true });
}

// ---------------------------------------------------------------- runs
machine = {
  nproc: os.cpus().length,
  cpu: os.cpus()[0]?.model,
  memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  kernel: os.release(),
  os: (fs.readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)/m) || [])[1],
  fs: sh('stat', ['-f', '-c', '%T', W]).stdout.trim(),
};
versions = Object.fromEntries(opts.tools.map((t) => [t, tools[t].version()]));
versions.registry = sh('dpkg-query', ['-W', '-f', '${Version}', 'docker-registry']).stdout;
versions.skopeo = sh('skopeo', ['--version']).stdout.trim();
log('versions', versions);

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
  const runs = c === 'biglayer' ? opts.bigRuns : opts.runs;
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
  writeResults(); // after each case, so a long run leaves something behind if stopped
}

// ---------------------------------------------------------------- results
function median(xs) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function summarize() {
  const rows = [];
  const scen = [...opts.scenarios];
  if (opts.cases.includes('biglayer') && want('cold') && want('push')) scen.push('cold+push');
  for (const c of opts.cases) {
    for (const sc of scen) {
      const pick = (t, s) => samples.filter((x) => x.case === c && x.tool === t && x.scenario === s);
      const secsOf = (t, run) => {
        if (sc === 'cold+push') {
          const a = pick(t, 'cold').find((x) => x.run === run && x.status === 'ok');
          const b = pick(t, 'push').find((x) => x.run === run && x.status === 'ok');
          return a && b ? a.secs + b.secs : null;
        }
        const x = pick(t, sc).find((x) => x.run === run && x.status === 'ok');
        return x ? x.secs : null;
      };
      if (sc === 'cold+push' && c !== 'biglayer') continue;
      const cpuOf2 = (t, run) => {
        const one = (s) => pick(t, s).find((x) => x.run === run && x.status === 'ok')?.cpuSecs ?? null;
        if (sc !== 'cold+push') return one(sc);
        const a = one('cold');
        const b = one('push');
        return a !== null && b !== null ? a + b : null;
      };
      const row = {
        case: c,
        scenario: sc,
        median: {},
        status: {},
        rssMiB: {},
        ratio: {},
        cpu: {},
        cpuRatio: {},
      };
      const runsSeen = [...new Set(samples.filter((x) => x.case === c).map((x) => x.run))];
      for (const t of opts.tools) {
        const vals = runsSeen.map((r) => secsOf(t, r)).filter((v) => v !== null);
        row.median[t] = vals.length ? +median(vals).toFixed(3) : null;
        const bad = sc === 'cold+push' ? [] : pick(t, sc).filter((x) => x.status !== 'ok');
        row.status[t] = vals.length ? 'ok' : bad[0]?.status || 'n/a';
        if (!vals.length && bad[0])
          row.error = { ...(row.error || {}), [t]: String(bad[0].error).split('\n').slice(-3).join(' ') };
        const rss =
          sc === 'cold+push'
            ? []
            : pick(t, sc)
                .filter((x) => x.status === 'ok' && x.rssKiB)
                .map((x) => x.rssKiB);
        row.rssMiB[t] = rss.length ? Math.round(median(rss) / 1024) : null;
        const cpu = runsSeen.map((r) => cpuOf2(t, r)).filter((v) => v !== null);
        row.cpu[t] = cpu.length ? +median(cpu).toFixed(2) : null;
      }
      for (const peer of opts.tools.filter((t) => t !== 'kiln')) {
        if (!opts.tools.includes('kiln')) break;
        // Ratio inside each run first, then the median of those ratios.
        const rs = runsSeen
          .map((r) => [secsOf('kiln', r), secsOf(peer, r)])
          .filter(([a, b]) => a !== null && b)
          .map(([a, b]) => a / b);
        row.ratio[peer] = rs.length ? +median(rs).toFixed(2) : null;
        const cr = runsSeen
          .map((r) => [cpuOf2('kiln', r), cpuOf2(peer, r)])
          .filter(([a, b]) => a !== null && b)
          .map(([a, b]) => a / b);
        row.cpuRatio[peer] = cr.length ? +median(cr).toFixed(2) : null;
      }
      rows.push(row);
    }
  }
  return rows;
}

function fmtS(v) {
  return v === null || v === undefined ? '' : v < 10 ? v.toFixed(2) : v.toFixed(1);
}
function markdown(rows) {
  const peers = opts.tools.filter((t) => t !== 'kiln');
  const head = [
    'case',
    'scenario',
    ...opts.tools.map((t) => `${t} s`),
    ...peers.map((p) => `kiln/${p}`),
    ...peers.map((p) => `CPU kiln/${p}`),
    ...opts.tools.map((t) => `${t} RSS MiB`),
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    const cell = (t) => (r.status[t] === 'ok' ? fmtS(r.median[t]) : r.status[t]);
    const ratio = (p) =>
      r.ratio[p] === null || r.ratio[p] === undefined ? '–' : `**${r.ratio[p].toFixed(2)}×**`;
    const cpuRatio = (p) => (r.cpuRatio?.[p] ? `${r.cpuRatio[p].toFixed(2)}×` : '–');
    lines.push(
      `| ${[r.case, r.scenario, ...opts.tools.map(cell), ...peers.map(ratio), ...peers.map(cpuRatio), ...opts.tools.map((t) => r.rssMiB[t] ?? '')].join(' | ')} |`,
    );
  }
  return lines.join('\n') + '\n';
}

function svg(rows) {
  const peers = opts.tools.filter((t) => t !== 'kiln');
  const items = rows.filter((r) => peers.some((p) => r.ratio[p]));
  const colors = { buildkit: '#2f6db5', buildah: '#d9822b' };
  const barH = 9,
    gap = 6,
    left = 170,
    width = 460,
    top = 40;
  const groupH = peers.length * barH + gap;
  const height = top + items.length * groupH + 50;
  // log2 axis from 1/8x to 8x: 1.0 in the middle, "kiln faster" to the left.
  const lo = -3,
    hi = 3;
  const x = (v) => left + ((Math.log2(Math.min(Math.max(v, 2 ** lo), 2 ** hi)) - lo) / (hi - lo)) * width;
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 90}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="16" font-size="13" font-weight="bold">kiln time / peer time (median of per-run ratios; log scale; left of 1× = kiln faster)</text>`,
  ];
  for (let e = lo; e <= hi; e++) {
    const xx = x(2 ** e);
    out.push(
      `<line x1="${xx}" y1="${top - 8}" x2="${xx}" y2="${height - 40}" stroke="${e === 0 ? '#000' : '#ddd'}" stroke-width="${e === 0 ? 1.5 : 1}"/>`,
    );
    out.push(
      `<text x="${xx}" y="${height - 26}" text-anchor="middle">${e < 0 ? `1/${2 ** -e}` : 2 ** e}×</text>`,
    );
  }
  items.forEach((r, i) => {
    const y0 = top + i * groupH;
    out.push(
      `<text x="${left - 6}" y="${y0 + (peers.length * barH) / 2 + 4}" text-anchor="end">${esc(`${r.case} · ${r.scenario}`)}</text>`,
    );
    peers.forEach((p, j) => {
      const v = r.ratio[p];
      if (!v) return;
      const y = y0 + j * barH;
      const x1 = x(1),
        x2 = x(v);
      out.push(
        `<rect x="${Math.min(x1, x2)}" y="${y}" width="${Math.max(1, Math.abs(x2 - x1))}" height="${barH - 1}" fill="${colors[p] || '#888'}"/>`,
      );
      out.push(`<text x="${Math.max(x1, x2) + 3}" y="${y + barH - 1}" font-size="9">${v.toFixed(2)}</text>`);
    });
  });
  let lx = left;
  for (const p of peers) {
    out.push(
      `<rect x="${lx}" y="${height - 16}" width="10" height="10" fill="${colors[p] || '#888'}"/><text x="${lx + 14}" y="${height - 7}">kiln / ${esc(labels[p])}</text>`,
    );
    lx += 200;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function writeResults(finished = new Date().toISOString()) {
  fs.mkdirSync(opts.out, { recursive: true });
  const rows = summarize();
  const doc = {
    started,
    finished,
    machine,
    versions,
    options: { ...opts, out: undefined, workdir: undefined },
    summary: rows,
    samples,
  };
  fs.writeFileSync(path.join(opts.out, 'results.json'), JSON.stringify(doc, null, 2) + '\n');
  // Keep the repository's `prettier --check` green when the results are committed.
  const prettier = path.join(repo, 'node_modules/.bin/prettier');
  if (fs.existsSync(prettier)) spawnSync(prettier, ['--write', path.join(opts.out, 'results.json')]);
  const md =
    `Medians in seconds over ${opts.runs} run(s) (biglayer: ${opts.bigRuns}); ratio = median over runs of (kiln time / peer time in the same run); CPU ratio = the same with user+system CPU seconds (BuildKit: client + dockerd and its children); RSS = median peak RSS in MiB (BuildKit: VmHWM of dockerd and its children + docker client).\n\n` +
    markdown(rows);
  fs.writeFileSync(path.join(opts.out, 'results.md'), md);
  fs.writeFileSync(path.join(opts.out, 'ratios.svg'), svg(rows));
  return md;
}

const md = writeResults();
console.log(md);
log(`results in ${opts.out}`);
cleanup(); // the daemons keep the event loop alive: stop them now rather than at 'exit'
process.exit(0);
