import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { sha256Digest } from '@kiln/oci';
import { runStep, type RunSpec } from './run-step.js';
import { Snapshotter } from './snapshotter.js';
import type { Snapshot } from './snapshot.js';
import { busyboxEntries, layerTar } from './test/layer-tar.js';
import { StringSink } from './test/string-sink.js';
import { mountTable, runScript } from './test/step-fixture.js';

// Security properties of the step sandbox, checked with real namespaces from inside a step.
const ROOTFS = sha256Digest('busybox-with-escape-links');
// Docker's default capability set (moby's oci/caps/defaults.go) as /proc/PID/status shows it.
const DOCKER_CAPS = '00000000a80425fb';
let base: string;
let hostMarker: string;
let snapshotter: Snapshotter;
let snapshot: Snapshot;
const children: ChildProcess[] = [];

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-isolation-'));
  hostMarker = join(base, `host-marker-${process.pid}`);
  await writeFile(hostMarker, 'visible from the host only\n');
  snapshotter = new Snapshotter(join(base, 'store'));
  // A static program that asks for new user namespaces as 64- and 32-bit calls (seccomp below).
  const probe = join(base, 'seccomp-probe');
  const cc = spawnSync(
    'cc',
    ['-static', '-O2', '-o', probe, fileURLToPath(new URL('./test/seccomp-probe.c', import.meta.url))],
    {
      encoding: 'utf8',
    },
  );
  if (cc.status !== 0) throw new Error(`cc seccomp-probe.c: ${cc.stderr}`);
  await snapshotter.unpack(
    ROOTFS,
    layerTar([
      ...busyboxEntries(),
      { name: 'bin/seccomp-probe', content: await readFile(probe), mode: 0o755 },
      // An image may carry links to anything: they must resolve inside the rootfs.
      { name: 'to-root', type: 'symlink', linkname: '/' },
      { name: 'to-marker', type: 'symlink', linkname: hostMarker },
      { name: 'up-marker', type: 'symlink', linkname: `../../../../../..${hostMarker}` },
    ]),
  );
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await rm(base, { recursive: true, force: true });
});
beforeEach(async () => {
  snapshot = await snapshotter.prepare([ROOTFS]);
});
afterEach(async () => {
  await snapshot.release();
});

function run(script: string, extra: Partial<RunSpec> = {}, signal?: AbortSignal) {
  return runScript(snapshot, script, extra, signal);
}

/** Host processes whose command line contains `marker` (pgrep never lists itself). */
function hostProcesses(marker: string): string {
  return spawnSync('pgrep', ['-af', marker], { encoding: 'utf8' }).stdout.trim();
}

/** A child process that runs `script` with node and ends itself after 60 s at the latest. */
function nodeChild(script: string): ChildProcess {
  const child = spawn(
    process.execPath,
    ['-e', `setTimeout(() => process.exit(0), 60000).unref(); ${script}`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  return child;
}

async function firstLine(child: ChildProcess): Promise<string> {
  if (child.stdout === null) throw new Error('no stdout');
  for await (const line of createInterface({ input: child.stdout })) return line;
  throw new Error('the child exited without a line');
}

it('shows the step none of the host processes', async () => {
  const marker = `${Math.floor(Math.random() * 1e6) + 3e6}`;
  const sleeper = spawn('sleep', [marker], { stdio: 'ignore' });
  children.push(sleeper);
  expect(hostProcesses(`sleep ${marker}`)).not.toBe('');
  const script = `for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; done | grep -c "^sleep ${marker} $"; ls -d /proc/[0-9]* | wc -l`;
  // The same probe on the host finds the sleeper: what the step does not see is really there.
  expect(spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8' }).stdout.split('\n')[0]).toBe('1');
  const r = await run(script);
  const [matches, count] = r.stdout.trim().split('\n');
  expect(matches).toBe('0');
  // PID 1 (kiln's init), the shell, the pipeline: a handful, never the host's hundreds.
  expect(Number(count)).toBeLessThanOrEqual(6);
  sleeper.kill();
});

it("mounts runc's /dev: the host's harmless nodes, terminals of group tty, shm, the step's message queues", async () => {
  const r = await run(
    'grep " /dev/" /proc/self/mounts | cut -d" " -f2,3 | sort; grep -c "^devpts /dev/pts devpts [^ ]*gid=5" /proc/self/mounts',
  );
  expect(r.stdout.split('\n')).toEqual([
    '/dev/full devtmpfs',
    '/dev/mqueue mqueue',
    '/dev/null devtmpfs',
    '/dev/pts devpts',
    '/dev/random devtmpfs',
    '/dev/shm tmpfs',
    '/dev/tty devtmpfs',
    '/dev/urandom devtmpfs',
    '/dev/zero devtmpfs',
    '1',
    '',
  ]);
});

it('mounts /etc/hosts and /etc/resolv.conf read-only, as BuildKit; /etc/hostname stays writable', async () => {
  const r = await run(
    'for f in /etc/hosts /etc/resolv.conf /etc/hostname; do (: >> $f) 2>/dev/null && echo "$f rw" || echo "$f ro"; done',
  );
  expect(r.stdout).toBe('/etc/hosts ro\n/etc/resolv.conf ro\n/etc/hostname rw\n');
});

it("has the step's hostname, which the step cannot change for the host", async () => {
  const r = await run('hostname; hostname evil 2>/dev/null || echo refused; hostname', {
    hostname: 'stepbox',
  });
  expect(r.stdout).toBe('stepbox\nrefused\nstepbox\n');
  expect(hostname()).not.toBe('evil');
});

it('cannot reach the host filesystem outside the rootfs, neither directly nor through /proc/1/root or links', async () => {
  const r = await run(
    [
      `cat ${hostMarker} 2>/dev/null || echo no-direct`,
      `cat /proc/1/root${hostMarker} 2>/dev/null || echo no-proc-root`,
      'readlink /proc/1/root',
      '[ "$(ls /proc/1/root/)" = "$(ls /)" ] && echo proc-root-is-rootfs',
      '[ "$(ls /to-root/)" = "$(ls /)" ] && echo link-to-root-is-rootfs',
      'cat /to-marker 2>/dev/null || echo no-link',
      'cat /up-marker 2>/dev/null || echo no-dotdot-link',
      `cat /../../..${hostMarker} 2>/dev/null || echo no-dotdot`,
    ].join('\n'),
  );
  expect(r.stdout.split('\n')).toEqual([
    'no-direct',
    'no-proc-root',
    '/',
    'proc-root-is-rootfs',
    'link-to-root-is-rootfs',
    'no-link',
    'no-dotdot-link',
    'no-dotdot',
    '',
  ]);
});

it('with network none cannot reach a server on the host loopback, which network host reaches', async () => {
  const server = nodeChild(
    "const s = require('net').createServer((c) => c.end('hello\\n')); s.listen(0, '127.0.0.1', () => console.log(s.address().port));",
  );
  const port = await firstLine(server);
  const probe = `nc -w 2 127.0.0.1 ${port} </dev/null && echo reached || echo unreachable`;
  expect((await run(probe, { network: 'host' })).stdout).toBe('hello\nreached\n');
  expect((await run(probe, { network: 'none' })).stdout).toBe('unreachable\n');
  server.kill();
}, 30000);

it("runs with Docker's default capabilities and seccomp filter, and no capabilities as another user", async () => {
  const status =
    'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\\t " " "';
  const root = await run(status);
  expect(root.stdout).toBe(
    [
      'CapInh: 0000000000000000',
      `CapPrm: ${DOCKER_CAPS}`,
      `CapEff: ${DOCKER_CAPS}`,
      `CapBnd: ${DOCKER_CAPS}`,
      'CapAmb: 0000000000000000',
      // setuid programs (sudo) work for another USER, as in docker build; seccomp does not need it.
      'NoNewPrivs: 0',
      'Seccomp: 2',
      '',
    ].join('\n'),
  );
  const bob = await run(status, { user: 'bob' });
  expect(bob.stdout).toContain('CapEff: 0000000000000000');
  expect(bob.stdout).toContain(`CapBnd: ${DOCKER_CAPS}`);
  // What those capabilities and the filter keep out of reach: mounting, kernel knobs, /sys, and
  // new namespaces (a user namespace needs no capability: the filter refuses it, as Docker's).
  const denied = await run(
    [
      'mount -t tmpfs none /tmp 2>/dev/null && echo mounted || echo no-mount',
      'echo 1 > /proc/sys/vm/drop_caches 2>/dev/null && echo wrote || echo no-sysctl',
      'touch /sys/kiln 2>/dev/null && echo touched || echo no-sys',
      'unshare -U true 2>/dev/null && echo unshared || echo no-unshare',
      'unshare -U true 2>&1 | grep -o "Operation not permitted"',
    ].join('\n'),
  );
  expect(denied.stdout).toBe('no-mount\nno-sysctl\nno-sys\nno-unshare\nOperation not permitted\n');
  // The same refusals for clone with a namespace flag and for a 32-bit call (int 0x80); clone3,
  // whose flags a filter cannot read, is ENOSYS so that libc falls back to clone.
  expect((await run('seccomp-probe')).stdout).toBe(
    'unshare64=1 unshare32=1 clone=1 clone3=38 keyctl=1 add_key=1 io_uring_setup=1\n',
  );
  // Forks and threads (clone without namespace flags) are untouched.
  expect((await run('(echo sub) & wait; echo $((1+1))')).stdout).toBe('sub\n2\n');
});

it('leaves no mount on the host after 100 steps', async () => {
  // Only mounts that involve this test's directory: other work on the machine may mount elsewhere.
  const before = await mountTable(base);
  for (let i = 0; i < 100; i++) {
    const r = await run('mount -t tmpfs none /tmp 2>/dev/null; echo $((1 + 1)) > /tmp/x', {
      mounts: [{ type: 'tmpfs', target: '/scratch' }],
    });
    expect(r.exitCode).toBe(0);
  }
  expect(await mountTable(base)).toBe(before);
}, 120000);

it('leaves no process behind when a step with a detached process tree is cancelled', async () => {
  const marker = `${Math.floor(Math.random() * 1e6) + 4e6}`;
  const controller = new AbortController();
  const stdout = new StringSink();
  const spec: RunSpec = {
    snapshot,
    // A daemon (new session, reparented to init), a nested tree, and a shell that ignores TERM.
    args: [
      '/bin/sh',
      '-c',
      `setsid sh -c "sleep ${marker} & sleep ${marker}" & sh -c "sleep ${marker}; :" & trap "" TERM; echo started; sleep ${marker}`,
    ],
    env: ['PATH=/bin'],
    cwd: '/',
    network: 'host',
  };
  const running = runStep(spec, { stdout, stderr: new StringSink() }, controller.signal);
  while (!stdout.text.includes('started')) await new Promise((resolve) => setTimeout(resolve, 20));
  while (hostProcesses(`sleep ${marker}`).split('\n').length < 4)
    await new Promise((resolve) => setTimeout(resolve, 20));
  controller.abort();
  await expect(running).resolves.toMatchObject({ signal: 'SIGKILL' });
  expect(hostProcesses(`sleep ${marker}`)).toBe('');
  expect(hostProcesses(`kiln-helper run`).includes(snapshot.workDir)).toBe(false);
}, 30000);
