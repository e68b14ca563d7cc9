import { RegistryError } from './registry-error.js';
import type { RegistryTls } from './load-registry-tls.js';

/** OpenSSL verification failures and Node's host-name check, as `err.code`. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A CERTIFICATE error (never retried: the same certificate fails again) when `err` is a TLS
 * verification failure, naming where kiln looks for the registry's CA; undefined otherwise.
 */
export function certificateError(
  err: unknown,
  where: string,
  tls: RegistryTls | undefined,
): RegistryError | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (!CERTIFICATE_CODES.has(code)) return undefined;
  const { message } = err as { message?: unknown };
  const reason = typeof message === 'string' ? message : code;
  return new RegistryError('CERTIFICATE', `${where}: TLS certificate not trusted: ${reason} (${code})`, {
    cause: err,
    hint:
      code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? 'the certificate does not name this host: use the name the certificate was issued for'
        : `trust the registry's CA: put it in ${tls?.hostDir ?? '/etc/docker/certs.d/<host>'}/ca.crt or pass --registry-ca FILE`,
  });
}
