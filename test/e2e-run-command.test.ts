import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, kilnBin, repoRoot, storeWithBusybox, tempDir } from './support/kiln.js';

const tmp = tempDir('kiln-runcmd-');
const root = join(tmp.path, 'store');

beforeAll(() => {
  storeWithBusybox(root);
  const hello = kiln(root, ['build', '-q', '-t', 'hello:1', join(repoRoot, 'examples', 'hello')]);
  if (hello.status !== 0) throw new Error(`build failed:\n${hello.stderr}`);
  const ctx = join(tmp.path, 'vol-ctx');
  mkdirSync(ctx);
  writeFileSync(
    join(ctx, 'Dockerfile'),
    'FROM busybox\nVOLUME /data\nCMD ["sh", "-c", "echo kept > /data/x"]\n',
  );
  const vol = kiln(root, ['build', '-q', '-t', 'vol:1', ctx]);
  if (vol.status !== 0) throw new Error(`build failed:\n${vol.stderr}`);
});
afterAll(() => tmp.cleanup());

function run(args: string[], input?: string) {
  const r = spawnSync(kilnBin, ['--root', root, 'run', ...args], {
    encoding: 'utf8',
    input,
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function hostProcesses(marker: string): string {
  return spawnSync('pgrep', ['-af', marker], { encoding: 'utf8' }).stdout.trim();
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  for (const start = Date.now(); !check();) {
    if (Date.now() - start > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

it("runs the image's CMD and returns the container's exit code", () => {
  const r = run(['--rm', 'hello:1']);
  expect(r).toEqual({
    status: 0,
    stdout: 'hello from a kiln RUN step\nhello from the build context\n',
    stderr: '',
  });
  // Options after IMAGE belong to the command.
  expect(run(['--rm', 'hello:1', 'sh', '-c', 'echo "args: $*"; exit 7', 'sh', '-e', '--rm']).status).toBe(7);
  expect(run(['--rm', 'hello:1', 'sh', '-c', 'echo "args: $*"', 'sh', '-e', '--rm']).stdout).toBe(
    'args: -e --rm\n',
  );
});

it("tells kiln's own failures (125) from the container's exit codes, as docker run", () => {
  // A command's 1 is the command's; kiln failing to start it is 125.
  expect(run(['--rm', 'hello:1', 'sh', '-c', 'exit 1']).status).toBe(1);
  expect(run(['--rm', 'hello:1', 'no-such-command'])).toMatchObject({ status: 127 });
  expect(run(['--rm', 'hello:1', '/etc'])).toMatchObject({ status: 126 });
  const noImage = run(['--rm', 'no-such-image:1', 'true']);
  expect(noImage.status).toBe(125);
  expect(noImage.stderr).toContain('no-such-image:1');
  expect(run(['--no-such-flag', 'hello:1', 'true'])).toEqual({
    status: 125,
    stdout: '',
    stderr: "error: unknown flag: --no-such-flag\nhint: see 'kiln run --help'\n",
  });
});

it('overrides env, user, workdir and entrypoint', () => {
  const envFile = join(tmp.path, 'env');
  writeFileSync(envFile, '# comment\nB=from-file\nA=overridden\n');
  const r = run([
    '--rm',
    '--env-file',
    envFile,
    '-e',
    'A=1',
    '-u',
    '1000:1000',
    '-w',
    '/tmp/work',
    '--entrypoint',
    'sh',
    'hello:1',
    '-c',
    'echo $A $B; id -u; id -g; pwd',
  ]);
  expect([r.status, r.stdout]).toEqual([0, '1 from-file\n1000\n1000\n/tmp/work\n']);
});

it('binds host paths read-only (writes fail) and read-write (the host sees them)', () => {
  const dir = join(tmp.path, 'bind');
  mkdirSync(dir);
  const r = run([
    '--rm',
    '-v',
    `${dir}:/ro:ro`,
    '--mount',
    `type=bind,source=${dir},target=/rw`,
    'hello:1',
    'sh',
    '-c',
    'echo w > /rw/f && ! echo x > /ro/g',
  ]);
  expect(r.status).toBe(0);
  expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('w\n');
  expect(existsSync(join(dir, 'g'))).toBe(false);
});

it('--network none leaves only the loopback interface', () => {
  const r = run(['--rm', '--network', 'none', 'hello:1', 'cat', '/proc/net/dev']);
  const ifaces = r.stdout
    .split('\n')
    .slice(2)
    .filter(Boolean)
    .map((l) => l.split(':')[0]?.trim());
  expect([r.status, ifaces]).toEqual([0, ['lo']]);
});

it('lets a container edit /etc/hosts, as docker run (build steps see it read-only)', () => {
  const r = run(['--rm', 'hello:1', 'sh', '-c', 'echo "10.0.0.1 db" >> /etc/hosts && grep -c db /etc/hosts']);
  expect([r.status, r.stdout]).toEqual([0, '1\n']);
});

it('-i pipes stdin into the container', () => {
  expect(run(['--rm', '-i', 'hello:1', 'cat'], 'hi\n')).toMatchObject({ status: 0, stdout: 'hi\n' });
  // Without -i, stdin is /dev/null.
  expect(run(['--rm', 'hello:1', 'cat'], 'hi\n')).toMatchObject({ status: 0, stdout: '' });
});

it('a SIGKILLed kiln run leaves no process and no mount behind', async () => {
  const child = spawn(kilnBin, [
    '--root',
    root,
    'run',
    '--rm',
    'hello:1',
    'sh',
    '-c',
    'echo ready; sleep 8765309 & wait',
  ]);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => out.includes('ready'));
  expect(hostProcesses('sleep 8765309')).not.toBe('');
  child.kill('SIGKILL');
  await until(() => hostProcesses('sleep 8765309') === '');
  expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(tmp.path);
  // Its record stays until a command that lists containers to act on them removes it: `kiln du`
  // only reads (the record is still there after it); `kiln ps` removes it. (Reaped first: a
  // zombie still has the start time the record names, so it would count as running.)
  if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
  const containers = join(root, 'kiln', 'containers');
  const dead = readdirSync(containers).length;
  expect(dead).toBeGreaterThan(0);
  expect(kiln(root, ['du']).status).toBe(0);
  expect(readdirSync(containers)).toHaveLength(dead);
  expect(kiln(root, ['ps', '-a']).status).toBe(0);
  expect(readdirSync(containers)).toHaveLength(dead - 1);
});

it('forwards SIGTERM, then escalates to SIGKILL after --stop-timeout', async () => {
  const start = async (script: string): Promise<number | null> => {
    const child = spawn(kilnBin, [
      '--root',
      root,
      'run',
      '--rm',
      '--stop-timeout',
      '1',
      'hello:1',
      'sh',
      '-c',
      script,
    ]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.includes('ready'));
    child.kill('SIGTERM');
    return new Promise((resolve) => child.on('close', (code) => resolve(code)));
  };
  expect(await start('echo ready; exec sleep 30')).toBe(143);
  expect(await start('trap "" TERM; echo ready; sleep 30 & wait; sleep 30')).toBe(137);
});

it('keeps a container without --rm: ps -a, commit, rm', () => {
  expect(run(['--name', 'keeper', 'hello:1', 'sh', '-c', 'echo made > /made; exit 5']).status).toBe(5);
  const ps = kiln(root, ['ps', '-a']);
  expect(ps.stdout).toMatch(/hello:1 .*Exited \(5\).* keeper\n/);
  expect(kiln(root, ['ps']).stdout).not.toContain('keeper');
  const commit = kiln(root, ['commit', 'keeper', 'made:1']);
  expect(commit.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  expect(run(['--rm', 'made:1', 'cat', '/made']).stdout).toBe('made\n');
  expect(kiln(root, ['rm', 'keeper']).status).toBe(0);
  expect(kiln(root, ['ps', '-a']).stdout).not.toContain('keeper');
  expect(readdirSync(join(root, 'kiln', 'containers'))).toEqual([]);
});

it("backs the image's VOLUMEs with anonymous volumes, removed with the container", () => {
  expect(run(['--name', 'vols', 'vol:1']).status).toBe(0);
  const volumes = join(root, 'kiln', 'volumes');
  const made = readdirSync(volumes).filter((v) => existsSync(join(volumes, v, 'x')));
  expect(made).toHaveLength(1);
  expect(readFileSync(join(volumes, made[0] ?? '', 'x'), 'utf8')).toBe('kept\n');
  expect(kiln(root, ['rm', 'vols']).status).toBe(0);
  expect(existsSync(join(volumes, made[0] ?? ''))).toBe(false);
});

it('-t gives an interactive shell a terminal (driven through tmux)', async () => {
  const socket = `kiln-test-${process.pid}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const done = join(tmp.path, 'tty-exit');
  const cmd = `${kilnBin} --root ${root} run --rm -it hello:1 sh; echo $? > ${done}; sleep 60`;
  expect(tmux('new-session', '-d', '-s', 't', '-x', '80', '-y', '24', cmd).status).toBe(0);
  try {
    const pane = (): string => tmux('capture-pane', '-p', '-t', 't').stdout;
    await until(() => pane().includes('/ #'));
    tmux('send-keys', '-t', 't', 'echo $((6*7)); stty size', 'Enter');
    // Both lines must appear; under load the pane may show the first before the second.
    await until(() => /^42$/m.test(pane()) && /^\d+ \d+$/m.test(pane()));
    expect(pane()).toMatch(/^24 80$/m);
    tmux('send-keys', '-t', 't', 'exit 3', 'Enter');
    await until(() => existsSync(done) && readFileSync(done, 'utf8') !== '');
    expect(readFileSync(done, 'utf8')).toBe('3\n');
  } finally {
    tmux('kill-server');
  }
});
