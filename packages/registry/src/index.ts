export { parseReference, formatReference, type RegistryReference } from './parse-reference.js';
export { RegistryError, type RegistryErrorCode, type RegistryErrorDetails } from './registry-error.js';
export { RegistryClient, type RegistryClientOptions } from './registry-client.js';
export { registryEndpoint, type RegistryEndpoint } from './registry-url.js';
export { dockerConfigCredentials, type Credentials, type CredentialsLookup } from './docker-credentials.js';
export { registryLogin, registryLogout, type LoginOptions, type LoginStore } from './registry-login.js';
export {
  loadRegistryTls,
  DEFAULT_CERTS_DIR,
  type RegistryTls,
  type RegistryTlsOptions,
} from './load-registry-tls.js';
export { systemCaCertificates } from './system-ca-certificates.js';
export { systemHttpsAgent } from './system-https-agent.js';
export { parseWwwAuthenticate, type AuthChallenge } from './parse-www-authenticate.js';
export { redactSecrets } from './redact-secrets.js';
export type { BlobOrigins, BlobSink, ImageSource } from './blob-io.js';
export { fileBlobOrigins } from './file-blob-origins.js';
export { filePlainHttpMemo, type PlainHttpMemo } from './plain-http-memo.js';
export { pullImage, type PullOptions, type PulledImage } from './pull-image.js';
export { pushImage, type PushOptions } from './push-image.js';
export type { BlobOutcome } from './push-blob.js';
export { selectPlatform } from './select-platform.js';
export { fetchArtifact, type FetchArtifactOptions, type FetchedArtifact } from './fetch-artifact.js';
export { pullBlob, type PullBlobOptions } from './pull-blob.js';
