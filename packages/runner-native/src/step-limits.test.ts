import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { sha256Digest } from '@kiln/oci';
import { probeLimits, type ControllerSupport, type LimitController } from './probe-limits.js';
import type { RunSpec } from './run-step.js';
import { Snapshotter } from './snapshotter.js';
import type { Snapshot } from './snapshot.js';
import { busyboxEntries, layerTar } from './test/layer-tar.js';
import { StringSink } from './test/string-sink.js';
import { runScript } from './test/step-fixture.js';
import { runStep } from './run-step.js';

const BUSYBOX = sha256Digest('busybox-layer');
let base: string;
let snapshotter: Snapshotter;
let snapshot: Snapshot;
let support: Record<LimitController, ControllerSupport>;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-limits-'));
  snapshotter = new Snapshotter(join(base, 'store'));
  await snapshotter.unpack(BUSYBOX, layerTar(busyboxEntries()));
  support = await probeLimits();
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});
beforeEach(async () => {
  snapshot = await snapshotter.prepare([BUSYBOX]);
});
afterEach(async () => {
  await snapshot.release();
});

function run(script: string, extra: Partial<RunSpec> = {}, signal?: AbortSignal) {
  return runScript(snapshot, script, extra, signal);
}

/** Runs `body` only when the controller is usable here; otherwise says why it was skipped. */
function withController(name: LimitController, body: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const s = support[name];
    if (!s.available) {
      console.warn(`skipped: the ${name} cgroup controller is not usable here: ${s.reason}`);
      return;
    }
    await body(s.dir);
  };
}

/** The cgroup for `controller` in a /proc/PID/cgroup text. */
function cgroupOf(procCgroup: string, controller: string): string | undefined {
  const line = procCgroup.split('\n').find((l) => l.split(':')[1]?.split(',').includes(controller));
  return line?.split(':')[2];
}

/**
 * /proc/PID/cgroup, read from here (the host's cgroup namespace), of the step process running
 * `sleep MARKER`: the step itself sees its own cgroup as the root of a namespace of its own.
 */
async function hostCgroupOfSleep(marker: number): Promise<string> {
  for (;;) {
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline === `sleep\0${marker}\0`) return readFile(`/proc/${pid}/cgroup`, 'utf8');
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A number no other process's `sleep` has. */
const marker = (): number => 900000 + Math.floor(Math.random() * 99999);

// Spawns ten background sleeps: each is a fork of the shell.
const SPAWN_TEN = 'i=0; while [ $i -lt 10 ]; do sleep 30 & i=$((i+1)); done; echo spawned; kill $(jobs -p)';

it(
  'a step over its pids limit cannot fork, and one within it can',
  withController('pids', async () => {
    const limited = await run(SPAWN_TEN, { limits: { pids: 4 } });
    expect(limited.exitCode).not.toBe(0);
    expect(limited.stderr).toMatch(/can't fork|Resource temporarily unavailable/);
    expect(limited.stdout).not.toContain('spawned');
    const enough = await run(SPAWN_TEN, { limits: { pids: 30 } });
    expect(enough).toMatchObject({ exitCode: 0, stdout: 'spawned\n' });
  }),
  30000,
);

it(
  'a step allocating beyond its memory limit is OOM-killed and reported as such',
  withController('memory', async () => {
    // awk doubles a string until the allocation fails or the kernel steps in.
    const hog = 'awk \'BEGIN { s = "x"; for (i = 0; i < 40; i++) s = s s; print length(s) }\'';
    const killed = await run(hog, { limits: { memory: 32 * 1024 * 1024 } });
    expect(killed).toMatchObject({ exitCode: 137, oomKilled: true });
    const small = await run('awk \'BEGIN { s = "x"; for (i = 0; i < 10; i++) s = s s; print length(s) }\'', {
      limits: { memory: 32 * 1024 * 1024 },
    });
    expect(small).toMatchObject({ exitCode: 0, stdout: '1024\n' });
    expect(small.oomKilled).toBeUndefined();
  }),
  60000,
);

it(
  'puts the step in a cgroup of its own with the CPU quota, and removes it afterwards',
  withController('cpu', async (parent) => {
    const controller = new AbortController();
    const sleep = marker();
    const spec: RunSpec = {
      snapshot,
      args: ['/bin/sh', '-c', `grep -vc ":/$" /proc/self/cgroup; sleep ${sleep}`],
      env: ['PATH=/bin'],
      cwd: '/',
      network: 'host',
      limits: { cpus: 1.5 },
    };
    const stdout = new StringSink();
    const running = runStep(spec, { stdout, stderr: new StringSink() }, controller.signal);
    const path = cgroupOf(await hostCgroupOfSleep(sleep), 'cpu');
    expect(path).toMatch(/\/kiln-step-\d+$/);
    const dir = join(parent, posix.basename(path ?? ''));
    expect((await readFile(join(dir, 'cpu.cfs_quota_us'), 'utf8')).trim()).toBe('150000');
    expect((await readFile(join(dir, 'cpu.cfs_period_us'), 'utf8')).trim()).toBe('100000');
    controller.abort();
    await running;
    expect(existsSync(dir)).toBe(false);
    // Inside, every hierarchy shows the step's cgroup as the root of its own namespace.
    expect(stdout.text).toBe('0\n');
  }),
  30000,
);

it('without limits the step stays in the cgroup kiln runs in', async () => {
  const sleep = marker();
  const stop = new AbortController();
  const running = run(`sleep ${sleep}`, {}, stop.signal);
  const seen = await hostCgroupOfSleep(sleep);
  stop.abort();
  await running;
  expect(seen).toBe(await readFile('/proc/self/cgroup', 'utf8'));
}, 30000);

it('refuses limits that are not positive before starting anything', async () => {
  await expect(run('true', { limits: { memory: 0 } })).rejects.toMatchObject({ code: 'BAD_LIMIT' });
  await expect(run('true', { limits: { pids: 1.5 } })).rejects.toMatchObject({ code: 'BAD_LIMIT' });
  await expect(run('true', { limits: { cpus: -1 } })).rejects.toMatchObject({ code: 'BAD_LIMIT' });
  await expect(run('true', { timeout: 0 })).rejects.toMatchObject({ code: 'BAD_LIMIT' });
});

describe('timeout', () => {
  it('stops a step that runs too long and says so', async () => {
    const r = await run('echo started; sleep 1000; echo not reached', { timeout: 300 });
    expect(r).toMatchObject({ exitCode: 143, signal: 'SIGTERM', timedOut: true, stdout: 'started\n' });
  }, 30000);

  it('kills a step that ignores SIGTERM', async () => {
    const r = await run('trap "" TERM; echo started; sleep 1000', { timeout: 300 });
    expect(r).toMatchObject({ exitCode: 137, signal: 'SIGKILL', timedOut: true });
  }, 30000);

  it('leaves a step that finishes in time alone', async () => {
    const r = await run('echo done', { timeout: 60000 });
    expect(r).toEqual({ exitCode: 0, stdout: 'done\n', stderr: '' });
  });
});
