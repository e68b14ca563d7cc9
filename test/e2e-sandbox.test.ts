import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildUnpacked, kiln, kilnBin, repoRoot, run, tempDir, writeContext } from './support/kiln.js';

// kiln build's sandbox flags end to end: --ssh (agent socket or key file), --secret leaks,
// --memory and --step-timeout.
const tmp = tempDir('kiln-sandbox-');
const root = join(tmp.path, 'store');
const agentSocket = join(tmp.path, 'agent.sock');
const key = join(tmp.path, 'id_ed25519');
const comment = `kiln-e2e-key-${process.pid}`;
let agent: ChildProcess;

/** Every helper line `NAME v1|v2 DIR` or `NAME unavailable: WHY`, by controller. */
function cgroupSupport(): Map<string, string> {
  const helper = join(repoRoot, 'packages', 'runner-native', 'native', 'kiln-helper');
  const out = run(helper, ['probe-cgroups']);
  return new Map(
    out
      .trim()
      .split('\n')
      .map((l) => [l.split(' ')[0] ?? '', l] as [string, string]),
  );
}

/** busybox plus OpenSSH's ssh-add and the libraries it links, imported as sshbox:latest. */
function importSshbox(): void {
  const rootfs = join(tmp.path, 'sshbox-rootfs');
  run('bash', [join(repoRoot, 'scripts', 'make-busybox-rootfs.sh'), rootfs]);
  const libs = [...run('ldd', ['/usr/bin/ssh-add']).matchAll(/(\/\S+) \(0x/g)].map((m) => m[1] ?? '');
  for (const file of ['/usr/bin/ssh-add', ...libs]) {
    mkdirSync(join(rootfs, dirname(file)), { recursive: true });
    copyFileSync(file, join(rootfs, file));
  }
  spawnSync('chmod', ['755', join(rootfs, 'usr/bin/ssh-add')]);
  const r = kiln(root, ['import', rootfs, 'sshbox:latest']);
  if (r.status !== 0) throw new Error(`kiln import failed: ${r.stderr}`);
}

beforeAll(async () => {
  importSshbox();
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', key]);
  agent = spawn('ssh-agent', ['-D', '-a', agentSocket], { stdio: 'ignore' });
  const list = (): number | null =>
    spawnSync('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: agentSocket } }).status;
  while (list() !== 1) await new Promise((resolve) => setTimeout(resolve, 20));
  run('bash', ['-c', `SSH_AUTH_SOCK=${agentSocket} ssh-add ${key}`]);
}, 120000);
afterAll(() => {
  agent.kill();
  tmp.cleanup();
});

/** Every file below `dir`, gzip members decompressed, as latin1 text (to look for leaked bytes). */
function everyFileBelow(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const st = statSync(path, { throwIfNoEntry: false });
      if (st === undefined) continue;
      if (st.isDirectory()) walk(path);
      else if (st.isFile()) {
        const buf = readFileSync(path);
        out.set(path, (buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf).toString('latin1'));
      }
    }
  };
  walk(dir);
  return out;
}

const ssh = (name: string, args: string[]) =>
  buildUnpacked(
    root,
    tmp.path,
    writeContext(
      tmp.path,
      name,
      'FROM sshbox\nRUN --mount=type=ssh ssh-add -l > /keys && echo "$SSH_AUTH_SOCK" > /sock\n',
    ),
    { args: ['--no-cache', ...args] },
  );

describe('kiln build --ssh', () => {
  it('forwards $SSH_AUTH_SOCK: ssh-add in the step lists the agent key', () => {
    const r = kiln(
      root,
      [
        'build',
        '--no-cache',
        '--ssh',
        'default',
        '-q',
        writeContext(tmp.path, 'ssh0', 'FROM sshbox\nRUN --mount=type=ssh ssh-add -l\n'),
      ],
      {
        SSH_AUTH_SOCK: agentSocket,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const built = ssh('ssh1', ['--ssh', `default=${agentSocket}`]);
    expect(built.status).toBe(0);
    expect(readFileSync(join(built.rootfs, 'keys'), 'utf8')).toContain(comment);
    expect(readFileSync(join(built.rootfs, 'sock'), 'utf8')).toBe('/run/buildkit/ssh_agent.0\n');
    expect(existsSync(join(built.rootfs, 'run', 'buildkit'))).toBe(false);
  });

  it('loads a key file into a private agent for the build', () => {
    const built = ssh('ssh2', ['--ssh', `default=${key}`]);
    expect(built.stderr).not.toContain('error');
    expect(readFileSync(join(built.rootfs, 'keys'), 'utf8')).toContain(comment);
  });

  it('fails a step whose required agent was not given, and skips an optional one', () => {
    const ctx = writeContext(
      tmp.path,
      'ssh3',
      'FROM sshbox\nRUN --mount=type=ssh,id=deploy,required=true true\n',
    );
    const r = kiln(root, ['build', '-q', ctx]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('ssh agent "deploy" is required but was not provided');
    const optional = writeContext(
      tmp.path,
      'ssh4',
      'FROM sshbox\nRUN --mount=type=ssh,id=deploy test ! -e /run/buildkit/ssh_agent.0\n',
    );
    expect(kiln(root, ['build', '-q', optional]).status).toBe(0);
  });
});

it('writes neither a secret nor the agent socket path into any file of the store or the output', () => {
  const secretValue = `s3cret-${process.pid}-${Math.floor(Math.random() * 1e9)}`;
  const secret = join(tmp.path, 'token.txt');
  writeFileSync(secret, `${secretValue}\n`);
  const ctx = writeContext(
    tmp.path,
    'leak',
    [
      'FROM sshbox',
      'RUN --mount=type=secret,id=tok cp /run/secrets/tok /tmp/copy && wc -c < /tmp/copy > /len && rm /tmp/copy',
      'RUN --mount=type=secret,id=tok,env=TOKEN echo ${#TOKEN} > /len2',
      'RUN --mount=type=ssh ssh-add -l > /dev/null && echo $SSH_AUTH_SOCK > /sock',
    ].join('\n'),
  );
  const built = buildUnpacked(root, tmp.path, ctx, {
    args: [
      '--secret',
      `id=tok,src=${secret}`,
      '--ssh',
      `default=${agentSocket}`,
      '--cache-to',
      `type=local,dest=${join(tmp.path, 'cache-out')}`,
    ],
  });
  expect(built.stderr).not.toContain('error');
  expect(built.status).toBe(0);
  expect(readFileSync(join(built.rootfs, 'len'), 'utf8').trim()).toBe(String(secretValue.length + 1));
  const files = new Map([
    ...everyFileBelow(root),
    ...everyFileBelow(built.layout),
    ...everyFileBelow(join(tmp.path, 'cache-out')),
  ]);
  // The walk saw the build's blobs, records and the image (so the check below could fail).
  expect([...files.values()].some((text) => text.includes('ssh-add -l'))).toBe(true);
  const leaks = [...files].filter(([, text]) => text.includes(secretValue) || text.includes(agentSocket));
  expect(leaks.map(([path]) => path)).toEqual([]);
});

/** Whether steps can get a memory limit here; says why not (the test is skipped) otherwise. */
function memoryControllerUsable(): boolean {
  const memory = cgroupSupport().get('memory') ?? '';
  if (/^memory v[12] /.test(memory)) return true;
  console.warn(`skipped: ${memory || 'no memory cgroup controller'}`);
  return false;
}

describe('kiln build limits', () => {
  it('fails a step over --memory as killed by the OOM killer', () => {
    if (!memoryControllerUsable()) return;
    const ctx = writeContext(
      tmp.path,
      'oom',
      'FROM sshbox\nRUN awk \'BEGIN { s = "x"; for (i = 0; i < 40; i++) s = s s; print length(s) }\'\n',
    );
    const r = kiln(root, ['build', '--progress', 'plain', '--memory', '32m', ctx]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(
      'did not complete successfully: killed: out of memory (limit 32MiB), exit code: 137',
    );
    // Within the limit the same flag lets a build through: the limit is what killed the step above.
    expect(
      kiln(root, [
        'build',
        '-q',
        '--memory',
        '32m',
        writeContext(tmp.path, 'small', 'FROM sshbox\nRUN echo fine\n'),
      ]).status,
    ).toBe(0);
  }, 120000);

  it('shows a step its own cgroup at /sys/fs/cgroup, read-only: --memory is the limit it reads there', () => {
    if (!memoryControllerUsable()) return;
    // cgroup v1: memory/memory.limit_in_bytes; v2: memory.max (what a JVM sizes its heap from).
    const ctx = writeContext(
      tmp.path,
      'cgroupfs',
      'FROM sshbox\nRUN cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; ' +
        'grep -vc ":/$" /proc/self/cgroup; touch /sys/fs/cgroup/x 2>/dev/null || echo read-only\n',
    );
    const r = kiln(root, ['build', '--progress', 'plain', '--no-cache', '--memory', '32m', ctx]);
    expect(r.status).toBe(0);
    const lines = r.stderr
      .split('\n')
      .map((l) => /^#\d+ [\d.]+ (.*)$/.exec(l)?.[1])
      .filter((l): l is string => l !== undefined);
    expect(lines[0]).toBe(String(32 * 1024 * 1024));
    // Every hierarchy shows the step's cgroup as its root (its own cgroup namespace): no line of
    // /proc/self/cgroup names a path below it.
    expect(lines[1]).toBe('0');
    expect(lines).toContain('read-only');
  }, 120000);

  it('stops a step that runs past --step-timeout with a clear error', () => {
    const ctx = writeContext(tmp.path, 'slow', 'FROM sshbox\nRUN echo started; sleep 1000\n');
    const r = kiln(root, ['build', '--progress', 'plain', '--step-timeout', '1s', ctx]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('did not complete successfully: timed out after 1s');
  }, 120000);

  it('refuses a bad limit before building', () => {
    const ctx = writeContext(tmp.path, 'bad', 'FROM sshbox\nRUN true\n');
    const r = kiln(root, ['build', '--pids-limit', '0', ctx]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('invalid --pids-limit 0');
  });
});

describe('kiln build descriptors', () => {
  it("gives a step, and the helper it can see as PID 1, none of kiln's caller's open descriptors", () => {
    const ctx = writeContext(
      tmp.path,
      'fds',
      "FROM sshbox\nRUN echo \"step: $(ls /proc/self/fd | sort -n | tr '\\n' ' ')\"; " +
        "echo \"pid1: $(ls /proc/1/fd | sort -n | tr '\\n' ' ')\"\n",
    );
    // A caller that leaves descriptors open without close-on-exec (a CI runner, make's jobserver).
    // High numbers: Node itself marks 0-15 close-on-exec at start, and the ones after up to the
    // first gap, but not those past it.
    const r = spawnSync(
      'bash',
      [
        '-c',
        'exec 100</dev/null 200>/dev/null; exec "$@"',
        'bash',
        kilnBin,
        '--root',
        root,
        'build',
        '--progress',
        'plain',
        ctx,
      ],
      { encoding: 'utf8', input: '', timeout: 120000, env: process.env },
    );
    expect(r.status).toBe(0);
    // ls reads the directory through one descriptor of its own (3); the step has its stdio else.
    const step = /^#\d+ [\d.]+ step: ([\d ]*)$/m.exec(r.stderr)?.[1]?.trim();
    expect(step).toBe('0 1 2 3');
    const pid1 = (/^#\d+ [\d.]+ pid1: ([\d ]*)$/m.exec(r.stderr)?.[1] ?? '').trim().split(' ');
    expect(pid1.slice(0, 3)).toEqual(['0', '1', '2']);
    expect(pid1).not.toContain('100');
    expect(pid1).not.toContain('200');
  }, 120000);
});
