import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { pack, type Header } from 'tar-stream';

/** One entry of a test layer; `content` makes a regular file. */
export type TestEntry = Partial<Header> & { readonly name: string; readonly content?: string | Buffer };

const EPOCH = new Date('2020-01-02T03:04:05Z');

/** An uncompressed tar stream of `entries`, in order, with fixed owner and mtime unless given. */
export function layerTar(entries: readonly TestEntry[]): Readable {
  const p = pack();
  void (async () => {
    for (const { content, ...header } of entries) {
      const full: Partial<Header> & { name: string } = {
        mode: header.type === 'directory' ? 0o755 : 0o644,
        uid: 0,
        gid: 0,
        mtime: EPOCH,
        ...header,
      };
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error | null): void => (err ? reject(err) : resolve());
        if (content !== undefined) p.entry({ type: 'file', ...full }, content, done);
        else p.entry(full, done);
      });
    }
    p.finalize();
  })().catch((err: unknown) => p.destroy(err as Error));
  return p as unknown as Readable;
}

/**
 * A minimal userland: static busybox with every applet linked, /etc/passwd with root and bob
 * (uid 1000, also in group "extra" 2000), and /tmp.
 */
export function busyboxEntries(): TestEntry[] {
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  return [
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', content: readFileSync('/bin/busybox'), mode: 0o755 },
    ...applets
      .filter((a) => a !== 'busybox')
      .map((a): TestEntry => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox', mode: 0o777 })),
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n' },
    { name: 'etc/group', content: 'root:x:0:\nbob:x:1000:\nextra:x:2000:bob\n' },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
  ];
}
