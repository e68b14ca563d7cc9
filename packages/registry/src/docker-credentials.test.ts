import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerConfigCredentials } from './index.js';

describe('dockerConfigCredentials', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kiln-docker-config-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function write(where: string, doc: unknown): void {
    mkdirSync(where, { recursive: true });
    writeFileSync(join(where, 'config.json'), JSON.stringify(doc));
  }

  it('reads base64 auth and username/password, matching keys with or without a scheme', async () => {
    write(dir, {
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw:with:colons').toString('base64') },
        'https://reg.example.com:5000/v2/': { username: 'u', password: 'p' },
        'localhost:5000': { auth: Buffer.from('local:pw').toString('base64') },
        'empty.example.com': {},
      },
    });
    const lookup = dockerConfigCredentials({ DOCKER_CONFIG: dir });
    await expect(lookup('docker.io')).resolves.toEqual({ username: 'hub', password: 'pw:with:colons' });
    await expect(lookup('reg.example.com:5000')).resolves.toEqual({ username: 'u', password: 'p' });
    await expect(lookup('localhost:5000')).resolves.toEqual({ username: 'local', password: 'pw' });
    await expect(lookup('empty.example.com')).resolves.toBeUndefined();
    await expect(lookup('other.example.com')).resolves.toBeUndefined();
  });

  it('falls back to $HOME/.docker, and treats a missing file as no credentials', async () => {
    write(join(dir, '.docker'), { auths: { 'h:1': { username: 'a', password: 'b' } } });
    await expect(dockerConfigCredentials({ HOME: dir })('h:1')).resolves.toEqual({
      username: 'a',
      password: 'b',
    });
    await expect(
      dockerConfigCredentials({ DOCKER_CONFIG: join(dir, 'none') })('h:1'),
    ).resolves.toBeUndefined();
  });

  it('rejects a malformed file with a clear code', async () => {
    writeFileSync(join(dir, 'config.json'), '{not json');
    await expect(dockerConfigCredentials({ DOCKER_CONFIG: dir })('h')).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS_FILE',
    });
  });
});
