import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerConfigCredentials } from './index.js';
import { installCredentialHelper } from '../../../test/support/credential-helper.js';

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

  it('asks the credHelpers entry of a registry, else credsStore, through docker-credential-<name> get', async () => {
    const helper = installCredentialHelper(join(dir, 'helper'), 'kilntest', {
      'reg.example.com:5000': { Username: 'from-helper', Secret: 'helper-secret' },
      'https://index.docker.io/v1/': { Username: 'hub-user', Secret: 'hub-secret' },
      'token.example.com': { Username: '<token>', Secret: 'refresh-123' },
    });
    const env = { DOCKER_CONFIG: dir, PATH: `${helper.binDir}:${process.env.PATH ?? ''}` };
    write(dir, {
      credsStore: 'kilntest',
      credHelpers: { 'other.example.com': 'missing-helper' },
      auths: { 'fallback.example.com': { auth: Buffer.from('file:pw').toString('base64') } },
    });
    const lookup = dockerConfigCredentials(env);
    await expect(lookup('reg.example.com:5000')).resolves.toEqual({
      username: 'from-helper',
      password: 'helper-secret',
    });
    await expect(lookup('docker.io')).resolves.toEqual({ username: 'hub-user', password: 'hub-secret' });
    // Username "<token>" means the secret is an identity token.
    await expect(lookup('token.example.com')).resolves.toEqual({
      username: '',
      password: '',
      identityToken: 'refresh-123',
    });
    // Nothing in the helper: the auths entry of config.json still counts.
    await expect(lookup('fallback.example.com')).resolves.toEqual({ username: 'file', password: 'pw' });
    expect(helper.calls()).toEqual([
      { action: 'get', input: 'reg.example.com:5000' },
      { action: 'get', input: 'https://index.docker.io/v1/' },
      { action: 'get', input: 'token.example.com' },
      { action: 'get', input: 'fallback.example.com' },
    ]);
    // credHelpers wins over credsStore; a helper that is not installed is a clear error.
    await expect(lookup('other.example.com')).rejects.toMatchObject({
      code: 'CREDENTIAL_HELPER',
      message: expect.stringContaining('docker-credential-missing-helper'),
      hint: expect.stringContaining('PATH'),
    });
  });

  it('reads identitytoken entries of auths', async () => {
    write(dir, {
      auths: { 'id.example.com': { auth: Buffer.from('me:').toString('base64'), identitytoken: 'rt' } },
    });
    await expect(dockerConfigCredentials({ DOCKER_CONFIG: dir })('id.example.com')).resolves.toEqual({
      username: 'me',
      password: '',
      identityToken: 'rt',
    });
  });
});
