import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Digest } from '@kiln/oci';
import type { RunSpec } from './run-step.js';
import type { RunMount } from './run-mount.js';
import { Snapshotter } from './snapshotter.js';
import type { Snapshot } from './snapshot.js';
import { busyboxEntries, layerTar } from './test/layer-tar.js';
import { describeChanges, runScript } from './test/step-fixture.js';

// A busybox rootfs whose /lib and /lib64 lead into /usr, like Debian's: binding the host's /usr
// read-only then gives the step OpenSSH's real ssh-add with its libraries.
const ROOTFS = sha256Digest('busybox-with-usr-links');
const AGENT_TARGET = '/run/buildkit/ssh_agent.0';
let base: string;
let agentSocket: string;
let agent: ChildProcess;
let comment: string;
let snapshotter: Snapshotter;
let snapshot: Snapshot;

function sshAdd(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ssh-add', args, { env: { SSH_AUTH_SOCK: agentSocket }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-ssh-test-'));
  agentSocket = join(base, 'host-agent.sock');
  comment = `kiln-test-key-${process.pid}-${Math.floor(Math.random() * 1e9)}`;
  const key = join(base, 'id_ed25519');
  const gen = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', key]);
  if (gen.status !== 0)
    throw new Error(`ssh-keygen failed (is openssh-client installed?): ${String(gen.stderr)}`);
  agent = spawn('ssh-agent', ['-D', '-a', agentSocket], { stdio: 'ignore' });
  // The agent does not say when it listens: 1 means "answered, no identities".
  while (sshAdd(['-l']).status !== 1) await new Promise((resolve) => setTimeout(resolve, 20));
  const added = sshAdd([key]);
  if (added.status !== 0) throw new Error(`ssh-add failed: ${added.stderr}`);
  snapshotter = new Snapshotter(join(base, 'store'));
  await snapshotter.unpack(
    ROOTFS,
    layerTar([
      ...busyboxEntries(),
      { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { name: 'lib64', type: 'symlink', linkname: 'usr/lib64' },
    ]),
  );
});
afterAll(async () => {
  agent.kill();
  await rm(base, { recursive: true, force: true });
});
beforeEach(async () => {
  snapshot = await snapshotter.prepare([ROOTFS]);
});
afterEach(async () => {
  await snapshot.release();
});

function run(script: string, ssh: Partial<RunMount & { type: 'ssh' }> = {}, extra: Partial<RunSpec> = {}) {
  return runScript(snapshot, script, {
    env: ['PATH=/usr/bin:/bin', `SSH_AUTH_SOCK=${AGENT_TARGET}`],
    mounts: [
      { type: 'bind', source: '/usr', target: '/usr' },
      { type: 'ssh', source: agentSocket, target: AGENT_TARGET, ...ssh },
    ],
    ...extra,
  });
}

it('lets ssh-add in the step list the key of the host agent', async () => {
  const r = await run('ssh-add -l');
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toContain(comment);
  expect(r.stdout).toMatch(/\(ED25519\)/);
});

it('gives the socket owner root and mode 0600 by default, or the uid/gid/mode asked for', async () => {
  const plain = await run(`stat -c '%a %u %g %F' ${AGENT_TARGET}`);
  expect(plain.stdout).toBe('600 0 0 socket\n');
  const owned = await run(
    `stat -c '%a %u %g' ${AGENT_TARGET}; ssh-add -l`,
    { uid: 1000, gid: 1000, mode: 0o660 },
    {
      user: 'bob',
    },
  );
  expect(owned.stdout.split('\n')[0]).toBe('660 1000 1000');
  expect(owned.stdout).toContain(comment);
  const denied = await run('ssh-add -l', {}, { user: 'bob' });
  expect(denied.exitCode).not.toBe(0);
});

it('never shows the host socket path to the step, nor leaves anything in its changes', async () => {
  const r = await run(`cat /proc/self/mountinfo; env`);
  expect(r.exitCode).toBe(0);
  expect(r.stdout).not.toContain(agentSocket);
  expect(await describeChanges(snapshot.changes())).toEqual([]);
});

it('fails clearly when the agent socket is not there', async () => {
  await expect(run('true', { source: join(base, 'no-agent.sock') })).rejects.toMatchObject({
    code: 'BAD_MOUNT',
    message: expect.stringContaining('not reachable'),
  });
});
