import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, tempDir, writeContext } from './support/kiln.js';
import {
  describeWithRegistry,
  startPrivateCaRegistry,
  type RegistryServer,
} from './support/registry-server.js';
import type { CertificateFiles } from './support/test-pki.js';

const describeRegistry = describeWithRegistry('registry TLS tests');

const tmp = tempDir('kiln-registry-tls-');
const root = join(tmp.path, 'store');
let registry: RegistryServer;
let ca: CertificateFiles;
/** A certs.d root with the CA under the registry's host:port, as docker lays it out. */
let certsD: string;
/** A certs.d root with nothing in it: only the system CAs (and --registry-ca) apply. */
let emptyCertsD: string;

function ok(r: { status: number | null; stdout: string; stderr: string }): string {
  if (r.status !== 0) throw new Error(`kiln exited ${r.status}:\n${r.stderr}`);
  return r.stdout.trim();
}

describeRegistry('kiln with a registry that serves HTTPS with a private CA', () => {
  beforeAll(async () => {
    ({ registry, ca } = await startPrivateCaRegistry(tmp.path));
    certsD = join(tmp.path, 'certs.d');
    mkdirSync(join(certsD, registry.host), { recursive: true });
    copyFileSync(ca.cert, join(certsD, registry.host, 'ca.crt'));
    emptyCertsD = join(tmp.path, 'certs.d-empty');
    mkdirSync(emptyCertsD);
    const rootfs = join(tmp.path, 'rootfs');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(join(rootfs, 'etc', 'hello'), 'over TLS\n');
    ok(kiln(root, ['import', rootfs, 'tiny:1']));
  });
  afterAll(async () => {
    await registry?.stop();
    tmp.cleanup();
  });

  it('without the CA, push fails with a certificate error that says where to put the CA', () => {
    const r = kiln(root, ['push', 'tiny:1', `${registry.host}/tls/app:1`], { KILN_CERTS_D: emptyCertsD });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/TLS certificate not trusted/);
    expect(r.stderr).toMatch(/unable to verify|self.signed|issuer/i);
    expect(r.stderr).toContain(join(emptyCertsD, registry.host, 'ca.crt'));
    expect(r.stderr).toContain('--registry-ca');
    // Never silently downgraded: nothing reached the registry's API over plain HTTP.
    expect(registry.requests().filter((l) => l.includes('/tls/app'))).toEqual([]);
  });

  it('trusts <certs.d>/<host:port>/ca.crt: push, then pull into another store with the same digest', () => {
    const env = { KILN_CERTS_D: certsD };
    const pushed = ok(kiln(root, ['push', 'tiny:1', `${registry.host}/tls/app:1`], env));
    expect(pushed).toMatch(/^sha256:[0-9a-f]{64}$/);
    const other = join(tmp.path, 'store-2');
    const pulled = ok(kiln(other, ['pull', `${registry.host}/tls/app:1`], env));
    expect(pulled).toBe(pushed);
  });

  it('trusts --registry-ca FILE for push, pull and a build FROM the registry', () => {
    const env = { KILN_CERTS_D: emptyCertsD };
    const pushed = ok(
      kiln(root, ['push', '--registry-ca', ca.cert, 'tiny:1', `${registry.host}/tls/ca:1`], env),
    );
    const other = join(tmp.path, 'store-3');
    expect(ok(kiln(other, ['pull', '--registry-ca', ca.cert, `${registry.host}/tls/ca:1`], env))).toBe(
      pushed,
    );

    const ctx = writeContext(tmp.path, 'ctx', `FROM ${registry.host}/tls/ca:1\nCOPY note /etc/note\n`, {
      note: 'built\n',
    });
    const fresh = join(tmp.path, 'store-4');
    const failed = kiln(fresh, ['build', '-q', '-t', 'from-tls:1', ctx], env);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/TLS certificate not trusted/);
    ok(kiln(fresh, ['build', '-q', '--registry-ca', ca.cert, '-t', 'from-tls:1', ctx], env));
  });

  it('--insecure-registry HOST: HTTPS without certificate verification, as docker', () => {
    const r = kiln(
      root,
      ['push', '--insecure-registry', registry.host, 'tiny:1', `${registry.host}/tls/insecure:1`],
      {
        KILN_CERTS_D: emptyCertsD,
      },
    );
    expect(r.status).toBe(0);
    expect(registry.requests()).toContainEqual(
      expect.stringMatching(/^PUT \/v2\/tls\/insecure\/manifests\/1 HTTP\/[\d.]+" 201$/),
    );
  });

  it('a --registry-ca that is not a PEM file is a clear error', () => {
    const bogus = join(tmp.path, 'bogus.crt');
    writeFileSync(bogus, 'not a certificate');
    const r = kiln(root, ['push', '--registry-ca', bogus, 'tiny:1', `${registry.host}/tls/app:1`], {
      KILN_CERTS_D: emptyCertsD,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bogus} is not a PEM file`);
  });
  it('a store that remembers the registry as plain HTTP finds it speaks TLS now (its 400), and forgets it', () => {
    // As if an earlier registry on this port had spoken plain HTTP: the push's first request goes
    // over http://, which the Go registry's TLS listener answers with a 400.
    const memo = join(root, 'kiln', 'plain-http-registries');
    writeFileSync(memo, `${registry.host}\n`);
    const pushed = ok(
      kiln(root, ['push', 'tiny:1', `${registry.host}/tls/memo:1`], { KILN_CERTS_D: certsD }),
    );
    expect(pushed).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(readFileSync(memo, 'utf8')).toBe('');
  });
});
