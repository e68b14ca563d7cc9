import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ok, repoRoot, tempDir, type Result } from './support/kiln.js';
import {
  describeWithRegistry,
  startPrivateCaRegistry,
  type RegistryServer,
} from './support/registry-server.js';
import type { CertificateFiles } from './support/test-pki.js';

const describeRegistry = describeWithRegistry('NODE_EXTRA_CA_CERTS tests');

// The `kiln` command, packages/builder/bin/kiln, run through a symlink as an installed command
// is: the script moves NODE_EXTRA_CA_CERTS aside before node starts (Node would build its root
// store at start), and bin/extra-ca-certs.cjs puts the variable and the trust back.
const tmp = tempDir('kiln-extra-ca-');
const program = join(tmp.path, 'bin', 'kiln');
mkdirSync(join(tmp.path, 'bin'));
symlinkSync(join(repoRoot, 'packages', 'builder', 'bin', 'kiln'), program);
const root = join(tmp.path, 'store');
let registry: RegistryServer;
let ca: CertificateFiles;
/** No certs.d entry for the registry: only the system CAs and NODE_EXTRA_CA_CERTS apply. */
let emptyCertsD: string;

function kilnProgram(
  args: readonly string[],
  extraCa: string | undefined,
  more: NodeJS.ProcessEnv = {},
): Result {
  const env: NodeJS.ProcessEnv = { ...process.env, KILN_CERTS_D: emptyCertsD, ...more };
  delete env.NODE_EXTRA_CA_CERTS;
  if (extraCa !== undefined) env.NODE_EXTRA_CA_CERTS = extraCa;
  const r = spawnSync(program, ['--root', root, ...args], { encoding: 'utf8', env, timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describeRegistry('NODE_EXTRA_CA_CERTS through the launcher (HTTPS registry with a private CA)', () => {
  beforeAll(async () => {
    ({ registry, ca } = await startPrivateCaRegistry(tmp.path));
    emptyCertsD = join(tmp.path, 'certs.d-empty');
    mkdirSync(emptyCertsD);
    const rootfs = join(tmp.path, 'rootfs');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(join(rootfs, 'etc', 'hello'), 'over TLS\n');
    ok(kilnProgram(['import', rootfs, 'tiny:1'], undefined));
  });
  afterAll(async () => {
    await registry?.stop();
    tmp.cleanup();
  });

  it('kiln push trusts the CA that only NODE_EXTRA_CA_CERTS names', () => {
    const dest = `${registry.host}/extra/tiny:1`;
    const without = kilnProgram(['push', 'tiny:1', dest], undefined);
    expect(without.status).toBe(1);
    expect(without.stderr).toMatch(/TLS certificate not trusted/);
    const digest = ok(kilnProgram(['push', 'tiny:1', dest], ca.cert));
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  /** A context whose Dockerfile ADDs, over HTTPS, the config of the image pushed; and that config. */
  function addOverHttps(): { ctx: string; config: Buffer } {
    const manifestDigest = ok(
      kilnProgram(['push', 'tiny:1', `${registry.host}/extra/tiny:1`], ca.cert),
    ).trim();
    const manifest = JSON.parse(
      readFileSync(join(root, 'blobs', 'sha256', manifestDigest.slice('sha256:'.length)), 'utf8'),
    ) as { config: { digest: string } };
    const url = `https://${registry.host}/v2/extra/tiny/blobs/${manifest.config.digest}`;
    const ctx = join(tmp.path, 'ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), `FROM tiny:1\nADD ${url} /config.json\n`);
    const config = readFileSync(
      join(root, 'blobs', 'sha256', manifest.config.digest.slice('sha256:'.length)),
    );
    return { ctx, config };
  }

  it('ADD <https url> trusts it too, and only with it', () => {
    const { ctx, config } = addOverHttps();
    const without = kilnProgram(['build', '-q', '-t', 'added:1', ctx], undefined);
    expect(without.status).not.toBe(0);
    expect(without.stderr).toMatch(/certificate|self.signed|issuer/i);

    const out = join(tmp.path, 'out');
    ok(kilnProgram(['build', '-q', '-t', 'added:1', '--output', `type=local,dest=${out}`, ctx], ca.cert));
    expect(readFileSync(join(out, 'config.json')).equals(config)).toBe(true);
  });

  it("ADD <https url> trusts the system's CA bundle ($SSL_CERT_FILE), as docker build does", () => {
    const { ctx, config } = addOverHttps();
    const out = join(tmp.path, 'out-system');
    const args = ['build', '-q', '--no-cache', '--output', `type=local,dest=${out}`, ctx];
    ok(kilnProgram(args, undefined, { SSL_CERT_FILE: ca.cert }));
    expect(readFileSync(join(out, 'config.json')).equals(config)).toBe(true);
  });
});
