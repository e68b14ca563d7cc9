import type { FsChange } from '@kiln/oci';

/**
 * One writable root filesystem, ready for `runStep`. The caller owns it and must `release()` it;
 * the unpacked layers below it are shared and never written.
 */
export type Snapshot = OverlaySnapshotLayout | CopySnapshotLayout;

interface SnapshotBase {
  /** Scratch space of the helper (overlay work dir, private staging mounts). */
  readonly workDir: string;
  /** What the step changed; read it after the step has exited. */
  changes(): AsyncIterable<FsChange>;
  /** Removes the snapshot's dirs. Idempotent. */
  release(): Promise<void>;
}

/** An overlay: the upper dir is the changeset (see `upperChanges`). */
export interface OverlaySnapshotLayout extends SnapshotBase {
  readonly kind: 'overlay';
  /** Unpacked layer dirs, bottom → top (an empty dir when the image has no layers). */
  readonly lowerDirs: readonly string[];
  readonly upperDir: string;
}

/** A plain copy of the merged layers, for hosts without overlayfs; diffed by walking (see `copyChanges`). */
export interface CopySnapshotLayout extends SnapshotBase {
  readonly kind: 'copy';
  readonly rootfsDir: string;
}
