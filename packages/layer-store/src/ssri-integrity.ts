import ssri from 'ssri';
import { digestHex, type Digest } from '@kiln/oci';

/** Converts an OCI digest (`sha256:<hex>`) to the ssri form (`sha256-<base64>`). */
export function digestToIntegrity(digest: Digest): string {
  return ssri.fromHex(digestHex(digest), 'sha256').toString();
}
