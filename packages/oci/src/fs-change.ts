import type { Readable } from 'node:stream';

export type FileType = 'file' | 'directory' | 'symlink' | 'link' | 'char-device' | 'block-device' | 'fifo';

/**
 * One filesystem entry as a layer stores it. `path` is relative to the root, without a leading
 * "/" or "./" and without a trailing slash ("usr/bin/sh"). `linkname` is the target of a
 * symlink, or for a hardlink ('link') the root-relative path of the entry it links to.
 */
export interface FileHeader {
  readonly path: string;
  readonly type: FileType;
  /** Permission bits and setuid/setgid/sticky (07777), never the file type. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: Date;
  readonly linkname?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
  /** Extended attributes by name; values are raw bytes (`security.capability` is binary). */
  readonly xattrs?: Readonly<Record<string, Uint8Array>>;
}

/** One entry of a layer's changeset. `open` is given for regular files; the consumer reads the stream to its end. */
export type FsChange =
  | {
      readonly kind: 'upsert';
      readonly header: FileHeader;
      readonly open?: () => NodeJS.ReadableStream | Readable;
      /**
       * The host file `open()` reads, when there is one: a consumer may read it directly (same
       * bytes), which saves the stream machinery on layers of many small files.
       */
      readonly sourcePath?: string;
    }
  | { readonly kind: 'delete'; readonly path: string }
  | { readonly kind: 'opaque'; readonly path: string };
