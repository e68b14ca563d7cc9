/**
 * A regular file of a layer as its tar records it: what makes two layers' files
 * interchangeable besides their bytes (the layer writer offers these to a tee's consumer, the
 * snapshotter links files of one unpacked layer into another by them).
 */
export interface LayerFile {
  /** Normalised: relative, `/`-separated, no `.`/`..`/empty components, no trailing slash. */
  readonly path: string;
  /** Permission bits (`& 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** Whole seconds since the epoch. */
  readonly mtime: number;
}
