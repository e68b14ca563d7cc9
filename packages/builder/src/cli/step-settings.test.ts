import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSsh } from './parse-ssh.js';
import { stepSettings } from './step-settings.js';

describe('stepSettings', () => {
  it('turns the limit flags into build options, leaving absent ones out', () => {
    expect(stepSettings({})).toEqual({});
    expect(stepSettings({ memory: '512m', pidsLimit: 64, cpus: 1.5, stepTimeout: '1m30s' })).toEqual({
      stepLimits: { memory: 512 * 1024 ** 2, pids: 64, cpus: 1.5 },
      stepTimeout: 90_000,
    });
  });

  it.each([
    [{ memory: 'lots' }, 'invalid size "lots"'],
    [{ memory: '0' }, 'invalid --memory 0'],
    [{ pidsLimit: 0 }, 'invalid --pids-limit 0'],
    [{ pidsLimit: 2.5 }, 'invalid --pids-limit 2.5'],
    [{ cpus: 0 }, 'invalid --cpus 0'],
    [{ stepTimeout: '10' }, 'invalid duration "10"'],
  ])('refuses %j', (flags, message) => {
    expect(() => stepSettings(flags)).toThrow(message);
  });
});

describe('parseSsh', () => {
  let dir: string;
  let server: Server;
  let socket: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-parse-ssh-'));
    socket = join(dir, 'agent.sock');
    server = createServer();
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    await writeFile(join(dir, 'id_a'), 'key a');
    await writeFile(join(dir, 'id_b'), 'key b');
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('takes $SSH_AUTH_SOCK for an id alone, a socket path, or key files', () => {
    const parsed = parseSsh(['default', `sock=${socket}`, `keys=${join(dir, 'id_a')},${join(dir, 'id_b')}`], {
      SSH_AUTH_SOCK: socket,
    });
    expect([...parsed]).toEqual([
      ['default', { kind: 'socket', path: socket }],
      ['sock', { kind: 'socket', path: socket }],
      ['keys', { kind: 'keys', paths: [join(dir, 'id_a'), join(dir, 'id_b')] }],
    ]);
  });

  it('fails clearly without an agent, with a missing path, or with a bad id', () => {
    expect(() => parseSsh(['default'], {})).toThrow('SSH_AUTH_SOCK is not set');
    expect(() => parseSsh([`x=${join(dir, 'nope')}`], {})).toThrow('does not exist');
    expect(() => parseSsh([`x=${dir}`], {})).toThrow('neither a socket nor a key file');
    expect(() => parseSsh([`x=${socket},${join(dir, 'id_a')}`], {})).toThrow(
      'give one agent socket or key files',
    );
    expect(() => parseSsh(['a b'], { SSH_AUTH_SOCK: socket })).toThrow('invalid --ssh "a b"');
  });
});
