import type { FsChange } from '@kiln/oci';

/**
 * One writable overlay on top of unpacked layers, ready for `runStep`. The caller owns it and must
 * `release()` it; the lower dirs are shared and never written.
 */
export interface Snapshot {
  /** Unpacked layer dirs, bottom → top (an empty dir when the image has no layers). */
  readonly lowerDirs: readonly string[];
  readonly upperDir: string;
  readonly workDir: string;
  /** The upper dir as a changeset (see `upperChanges`); read it after the step has exited. */
  changes(): AsyncIterable<FsChange>;
  /** Removes the upper and work dirs. Idempotent. */
  release(): Promise<void>;
}
