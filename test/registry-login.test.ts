import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installCredentialHelper } from './support/credential-helper.js';
import { kiln, kilnBin, ok, run, tempDir, type Result } from './support/kiln.js';
import {
  hasHtpasswd,
  hasRegistryTools,
  startRegistry,
  type RegistryServer,
} from './support/registry-server.js';
import { makeCertificateAuthority } from './support/test-pki.js';
import { startTokenServer, type TokenServer } from './support/token-server.js';

const ready = hasRegistryTools() && hasHtpasswd();
const describeRegistry = ready ? describe : describe.skip;
if (!ready) console.warn('skipping kiln login tests: docker-registry or htpasswd is not installed');

const tmp = tempDir('kiln-login-');
const root = join(tmp.path, 'store');
let basic: RegistryServer;
let token: RegistryServer;
let tokens: TokenServer;

/** kiln with `input` on stdin (for --password-stdin). */
function kilnWithInput(args: readonly string[], env: NodeJS.ProcessEnv, input: string): Result {
  const r = spawnSync(kilnBin, ['--root', root, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    input,
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let configs = 0;
/** A fresh DOCKER_CONFIG directory (not created: login must create it), with PATH for helpers. */
function dockerConfig(doc?: unknown, binDir?: string): { env: NodeJS.ProcessEnv; file: string } {
  const dir = join(tmp.path, `docker-config-${++configs}`);
  if (doc !== undefined) {
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
  }
  const env = { DOCKER_CONFIG: dir, ...(binDir ? { PATH: `${binDir}:${process.env.PATH ?? ''}` } : {}) };
  return { env, file: join(dir, 'config.json') };
}

const readJson = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describeRegistry('kiln login and logout against a real registry', () => {
  beforeAll(async () => {
    const htpasswd = join(tmp.path, 'htpasswd');
    writeFileSync(htpasswd, run('htpasswd', ['-Bbn', 'kiln', 'login-s3cret']));
    basic = await startRegistry(join(tmp.path, 'registry-basic'), { htpasswd });
    const signer = makeCertificateAuthority(tmp.path, 'token-signer');
    tokens = await startTokenServer(tmp.path, { signer, users: { kiln: 'token-s3cret' } });
    token = await startRegistry(join(tmp.path, 'registry-token'), {
      token: {
        realm: tokens.realm,
        service: tokens.service,
        issuer: tokens.issuer,
        rootCertBundle: signer.cert,
      },
    });
    const rootfs = join(tmp.path, 'rootfs');
    mkdirSync(rootfs);
    writeFileSync(join(rootfs, 'hello'), 'hi\n');
    ok(kiln(root, ['import', rootfs, 'tiny:1']));
  });
  afterAll(async () => {
    await basic?.stop();
    await token?.stop();
    await tokens?.stop();
    tmp.cleanup();
  });

  it('stores verified credentials in config.json (0600, atomic, other fields kept); logout removes them', () => {
    const { env, file } = dockerConfig({ proxies: { default: { noProxy: 'x' } } });
    const login = kilnWithInput(
      ['login', '-u', 'kiln', '--password-stdin', basic.host],
      env,
      'login-s3cret\n',
    );
    expect(ok(login)).toBe('Login Succeeded');
    const doc = readJson(file);
    expect(doc.proxies).toEqual({ default: { noProxy: 'x' } });
    expect(doc.auths).toEqual({
      [basic.host]: { auth: Buffer.from('kiln:login-s3cret').toString('base64') },
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);

    ok(kiln(root, ['push', 'tiny:1', `${basic.host}/login/app:1`], env));

    expect(ok(kiln(root, ['logout', basic.host], env))).toBe(`Removing login credentials for ${basic.host}`);
    expect(readJson(file).auths).toEqual({});
    expect(ok(kiln(root, ['logout', basic.host], env))).toBe(`Not logged in to ${basic.host}`);
    const denied = kiln(root, ['push', 'tiny:1', `${basic.host}/login/app:2`], env);
    expect(denied.status).toBe(1);
    expect(denied.stderr).toMatch(/unauthorized: authentication required/);
    expect(denied.stderr).toMatch(/kiln login/);
  });

  it('creates the config directory (0700) when missing; -p works with a warning', () => {
    const { env, file } = dockerConfig();
    const r = kiln(root, ['login', '-u', 'kiln', '-p', 'login-s3cret', `http://${basic.host}/v2/`], env);
    expect(ok(r)).toBe('Login Succeeded');
    expect(r.stderr).toMatch(/--password-stdin/);
    expect(statSync(join(file, '..')).mode & 0o777).toBe(0o700);
    expect(Object.keys(readJson(file).auths as object)).toEqual([basic.host]);
  });

  it("refuses wrong credentials with the registry's reason, storing nothing and never echoing them", () => {
    const { env, file } = dockerConfig();
    const r = kilnWithInput(['login', '-u', 'kiln', '--password-stdin', basic.host], env, 'wrong-pass-123');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/login to 127\.0\.0\.1:\d+: unauthorized: authentication required/);
    expect(r.stderr).toMatch(/check the username and password/);
    expect(r.stderr).not.toContain('wrong-pass-123');
    expect(existsSync(file)).toBe(false);

    const usage = kilnWithInput(['login', '--password-stdin', basic.host], env, 'x');
    expect(usage.status).toBe(1);
    expect(usage.stderr).toMatch(/--username/);
  });

  it('verifies credentials through the token server of a token-auth registry', () => {
    const { env, file } = dockerConfig();
    const bad = kilnWithInput(['login', '-u', 'kiln', '--password-stdin', token.host], env, 'nope');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unauthorized: invalid username or password/);
    expect(existsSync(file)).toBe(false);
    ok(kilnWithInput(['login', '-u', 'kiln', '--password-stdin', token.host], env, 'token-s3cret'));
    const pushed = ok(kiln(root, ['push', 'tiny:1', `${token.host}/login/app:1`], env));
    expect(ok(kiln(join(tmp.path, 'store-token'), ['pull', `${token.host}/login/app:1`], env))).toBe(pushed);
    expect(
      tokens.requests().some((r) => r.user === 'kiln' && r.scopes.includes('repository:login/app:pull')),
    ).toBe(true);
  });

  it('with credsStore, login stores through the helper (config.json keeps no secret), push gets, logout erases', () => {
    const helper = installCredentialHelper(join(tmp.path, 'helper'));
    const { env, file } = dockerConfig({ credsStore: 'kilntest' }, helper.binDir);
    ok(kilnWithInput(['login', '-u', 'kiln', '--password-stdin', basic.host], env, 'login-s3cret'));
    expect(helper.stored()).toEqual({ [basic.host]: { Username: 'kiln', Secret: 'login-s3cret' } });
    const doc = readJson(file);
    expect(doc.credsStore).toBe('kilntest');
    expect(doc.auths).toEqual({ [basic.host]: {} });
    expect(readFileSync(file, 'utf8')).not.toContain('s3cret');

    ok(kiln(root, ['push', 'tiny:1', `${basic.host}/login/helper:1`], env));
    ok(kiln(root, ['logout', basic.host], env));
    expect(helper.stored()).toEqual({});
    expect(helper.calls().map((c) => c.action)).toEqual(['store', 'get', 'erase']);
    expect(JSON.parse(helper.calls()[0]?.input ?? '{}')).toEqual({
      ServerURL: basic.host,
      Username: 'kiln',
      Secret: 'login-s3cret',
    });
    expect(helper.calls()[2]?.input).toBe(basic.host);
  });

  it('a credHelpers entry names the helper for its registry', () => {
    const helper = installCredentialHelper(join(tmp.path, 'helper-2'), 'kilntest', {
      [basic.host]: { Username: 'kiln', Secret: 'login-s3cret' },
    });
    const { env } = dockerConfig(
      { credsStore: 'not-installed', credHelpers: { [basic.host]: 'kilntest' } },
      helper.binDir,
    );
    ok(kiln(root, ['push', 'tiny:1', `${basic.host}/login/cred-helpers:1`], env));
    expect(helper.calls()).toEqual([{ action: 'get', input: basic.host }]);
  });
});
