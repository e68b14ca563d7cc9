import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Digest } from '@kiln/oci';
import { runStep, type RunSpec } from './run-step.js';
import { Snapshotter } from './snapshotter.js';
import type { Snapshot } from './snapshot.js';
import { busyboxEntries, layerTar } from './test/layer-tar.js';
import { StringSink } from './test/string-sink.js';
import { describeChanges, mountTable, runScript } from './test/step-fixture.js';

const BUSYBOX = sha256Digest('busybox-layer');
let base: string;
let snapshotter: Snapshotter;
let snapshot: Snapshot;
let mountsBefore: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-run-'));
  snapshotter = new Snapshotter(join(base, 'store'));
  await snapshotter.unpack(BUSYBOX, layerTar(busyboxEntries()));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});
beforeEach(async () => {
  snapshot = await snapshotter.prepare([BUSYBOX]);
  mountsBefore = await mountTable(base);
});
afterEach(async () => {
  // Every step runs in its own mount namespace: the host's mount table never changes.
  expect(await mountTable(base)).toBe(mountsBefore);
  await snapshot.release();
});

function run(script: string, extra: Partial<RunSpec> = {}, signal?: AbortSignal) {
  return runScript(snapshot, script, extra, signal);
}

/** Host processes whose command line contains `marker` (pgrep never lists itself). */
function hostProcesses(marker: string): string {
  return spawnSync('pgrep', ['-af', marker], { encoding: 'utf8' }).stdout.trim();
}

it('captures stdout and stderr and propagates the exit code', async () => {
  const r = await run('echo hello; echo oops >&2; exit 3');
  expect(r).toEqual({ exitCode: 3, stdout: 'hello\n', stderr: 'oops\n' });
});

it('exits 127 with a message when the program does not exist', async () => {
  const r = await run('', { args: ['no-such-program', 'x'] });
  expect(r.exitCode).toBe(127);
  expect(r.stderr).toBe('exec: no-such-program: not found\n');
});

it('runs on an image without layers (FROM scratch)', async () => {
  const scratch = await snapshotter.prepare([]);
  try {
    const r = await run('', { snapshot: scratch, args: ['/bin/sh'] });
    expect([r.exitCode, r.stderr]).toEqual([127, 'exec: /bin/sh: not found\n']);
  } finally {
    await scratch.release();
  }
});

it('runs in its own PID namespace with the helper as PID 1', async () => {
  const r = await run('echo $$; tr "\\0" " " < /proc/1/cmdline; echo; ls /proc | grep -E "^[0-9]+$"');
  const [pid, init, ...pids] = r.stdout.trim().split('\n');
  expect(pid).toBe('2');
  expect(init).toMatch(/kiln-helper run /);
  // Only PID 1, the shell and the ls/grep pipeline exist here; the host has many more.
  expect(pids.map(Number).every((p) => p <= 5)).toBe(true);
});

it('sets the hostname, the user from /etc/passwd and the working directory', async () => {
  const r = await run('hostname; id -u; id -G; pwd', { hostname: 'buildbox', user: 'bob', cwd: '/work/dir' });
  expect(r.stdout).toBe('buildbox\n1000\n1000 2000\n/work/dir\n');
});

it('gives USER name:group that group alone, and USER name its supplementary groups, as runc', async () => {
  const groups = 'id -u; id -g; set -- $(grep ^Groups: /proc/self/status); shift; echo "$*"';
  // bob is in "extra" (2000) in /etc/group; a group named in USER replaces them all.
  expect((await run(groups, { user: 'bob' })).stdout).toBe('1000\n1000\n2000\n');
  expect((await run(groups, { user: 'bob:bob' })).stdout).toBe('1000\n1000\n\n');
  expect((await run(groups, { user: 'bob:extra' })).stdout).toBe('1000\n2000\n\n');
  expect((await run(groups, { user: '1000:3000' })).stdout).toBe('1000\n3000\n\n');
});

it('isolates the network with network none', async () => {
  const r = await run('tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "', { network: 'none' });
  expect(r.stdout).toBe('lo\n');
});

it('kills processes left in the background when the command exits', async () => {
  const marker = `${Math.floor(Math.random() * 1e6) + 1e6}`;
  const r = await run(`sleep ${marker} & echo started`);
  expect(r).toMatchObject({ exitCode: 0, stdout: 'started\n' });
  expect(hostProcesses(`sleep ${marker}`)).toBe('');
}, 30000);

it('stops the step on abort, with SIGKILL when SIGTERM is ignored', async () => {
  const marker = `${Math.floor(Math.random() * 1e6) + 2e6}`;
  const controller = new AbortController();
  const stdout = new StringSink();
  const spec: RunSpec = {
    snapshot,
    args: ['/bin/sh', '-c', `trap "" TERM; echo started; sleep ${marker}; echo not reached`],
    env: ['PATH=/bin'],
    cwd: '/',
    network: 'host',
  };
  const running = runStep(spec, { stdout, stderr: new StringSink() }, controller.signal);
  while (!stdout.text.includes('started')) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(hostProcesses(`sleep ${marker}`)).not.toBe('');
  controller.abort();
  await expect(running).resolves.toEqual({ exitCode: 137, signal: 'SIGKILL' });
  expect(stdout.text).toBe('started\n');
  expect(hostProcesses(`sleep ${marker}`)).toBe('');
}, 30000);

it('stops the step on abort with SIGTERM, forwarded to the command', async () => {
  const controller = new AbortController();
  const running = run('echo started; sleep 1000', {}, controller.signal);
  setTimeout(() => controller.abort(), 200);
  await expect(running).resolves.toMatchObject({ exitCode: 143, signal: 'SIGTERM' });
}, 30000);

it('reports a sandbox that cannot be set up as SETUP_FAILED', async () => {
  await expect(run('true', { user: 'nobody-here' })).rejects.toMatchObject({
    code: 'SETUP_FAILED',
    message: expect.stringContaining('unable to find user nobody-here'),
  });
});

it('leaves the helper nothing to clean up on the host', async () => {
  await run('true');
  expect(execFileSync('ls', ['-A', snapshot.workDir], { encoding: 'utf8' })).toBe('work\n');
});

describe('Docker-like sandbox details', () => {
  it('masks /proc paths that leak host information and makes kernel knobs read-only', async () => {
    const r = await run(
      [
        // Masked: read as empty (a file bound to /dev/null, a directory under an empty tmpfs).
        'for p in /proc/keys /proc/timer_list /proc/kcore /proc/sched_debug; do [ -e $p ] && wc -c < $p; done',
        'for p in /proc/acpi /proc/scsi /proc/asound /sys/firmware; do [ -d $p ] && ls -A $p | wc -l; done',
        'echo evil > /proc/sys/kernel/hostname 2>/dev/null || echo sys-ro',
        'echo h > /proc/sysrq-trigger 2>/dev/null || echo sysrq-ro',
        'touch /proc/irq/x 2>/dev/null || echo irq-ro',
        'hostname',
      ].join('\n'),
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(-4)).toEqual(['sys-ro', 'sysrq-ro', 'irq-ro', 'kiln']);
    // At least /proc/keys and /proc/timer_list exist on any kernel kiln supports.
    expect(lines.length).toBeGreaterThanOrEqual(6);
    expect(lines.slice(0, -4).every((l) => l.trim() === '0')).toBe(true);
  });

  it('gives the step its own /etc/hostname and /etc/hosts, and nothing of them reaches the changes', async () => {
    const r = await run('cat /etc/hostname /etc/hosts', { hostname: 'stepbox' });
    // BuildKit's hosts file, not the host machine's: its names mean nothing inside.
    expect(r.stdout).toBe(
      'stepbox\n127.0.0.1\tlocalhost stepbox\n::1\tlocalhost ip6-localhost ip6-loopback\n',
    );
    expect(await describeChanges(snapshot.changes())).toEqual([]);
  });

  it.each([
    ['exit 125', 125],
    ['exit 255', 255],
    ['kill -SEGV $$', 139],
    ['kill -KILL $$', 137],
    ['exec /etc/passwd', 126],
  ])('reports `%s` as exit code %i, not as a setup failure or a kiln signal', async (script, code) => {
    expect(await run(script)).toMatchObject({ exitCode: code });
    expect((await run(script)).signal).toBeUndefined();
  });

  it('applies rlimits, and clamps a request above the current hard limit to it', async () => {
    const hard = /^Max open files\s+\d+\s+(\d+)/m.exec(await readFile('/proc/self/limits', 'utf8'))?.[1];
    expect(hard).toBeDefined();
    const lowered = await run('ulimit -n; ulimit -Hn', { rlimits: { nofile: { soft: 64, hard: 128 } } });
    expect(lowered.stdout).toBe('64\n128\n');
    const raised = await run('ulimit -Hn; ulimit -n', {
      rlimits: { nofile: { soft: Number.POSITIVE_INFINITY }, core: { soft: 0 } },
    });
    expect(raised.stdout).toBe(`${hard}\n${hard}\n`);
    await expect(run('true', { rlimits: { nofile: { soft: 10, hard: 5 } } })).rejects.toMatchObject({
      code: 'BAD_RLIMIT',
    });
  });
});
