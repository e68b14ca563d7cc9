import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';

/** Where the operating system keeps its CA bundle (Debian); `$SSL_CERT_FILE` names another. */
const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

const bundles = new Map<string, Promise<readonly string[]>>();

/**
 * What HTTPS trusts before anything configured for one host: Node's bundled roots, the
 * operating system's CA bundle (`$SSL_CERT_FILE`, else Debian's; Go clients such as docker and
 * BuildKit trust it, and passing any `ca` to Node replaces its default), and the file
 * `NODE_EXTRA_CA_CERTS` names (Node's default trust would hold it: bin/kiln keeps Node from
 * reading it at start). Each file is read once per process; one that is missing or holds no PEM
 * certificate adds nothing.
 */
export async function systemCaCertificates(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const systemFile = env.SSL_CERT_FILE || SYSTEM_BUNDLE;
  const ca = [...rootCertificates, ...(await readBundle(systemFile))];
  const extraFile = env.NODE_EXTRA_CA_CERTS;
  // Often the system bundle itself: parsing it twice would only slow every connection's setup.
  if (extraFile && extraFile !== systemFile) ca.push(...(await readBundle(extraFile)));
  return ca;
}

function readBundle(file: string): Promise<readonly string[]> {
  let bundle = bundles.get(file);
  if (!bundle) {
    bundle = readFile(file, 'utf8').then(
      (text) => (text.includes('-----BEGIN CERTIFICATE-----') ? [text] : []),
      () => [],
    );
    bundles.set(file, bundle);
  }
  return bundle;
}
