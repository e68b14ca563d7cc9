import type { Descriptor } from '@kiln/oci';
import type { RegistryClient } from './registry-client.js';

/** One blob on its way into one repository: what every step of an upload needs. */
export interface BlobUpload {
  readonly client: RegistryClient;
  readonly repository: string;
  readonly blob: Descriptor;
  /** `repository:<repo>:pull,push`. */
  readonly scopes: readonly string[];
  readonly signal: AbortSignal;
  /** A message prefix: `what('upload')` → `upload blob sha256:… to host/repo`. */
  what(verb: string): string;
}
