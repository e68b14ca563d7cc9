import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { FsChange } from '@kiln/oci';
import type { MergedTree } from '@kiln/runner-native';

/**
 * The merged filesystem of `tree` as upserts, depth first in sorted order (whiteouts and opaque
 * directories already applied by the tree, so nothing is deleted). Files that share a host inode
 * (hardlinks inside one layer) become `link` entries to the first name met; contents are opened
 * lazily from the unpacked layer. The root directory itself comes first.
 */
export async function* rootfsChanges(tree: MergedTree): AsyncGenerator<FsChange> {
  const root = await tree.entry('');
  if (root) yield { kind: 'upsert', header: root.header };
  yield* walk(tree, '', new Map());
}

async function* walk(tree: MergedTree, dir: string, inodes: Map<string, string>): AsyncGenerator<FsChange> {
  for (const name of await tree.list(dir)) {
    const path = dir === '' ? name : `${dir}/${name}`;
    const found = await tree.entry(path);
    if (found === undefined) continue;
    const { header, hostPath } = found;
    if (header.type === 'file') {
      const st = await lstat(hostPath, { bigint: true });
      if (st.nlink > 1n) {
        const inode = `${st.dev}:${st.ino}`;
        const first = inodes.get(inode);
        if (first !== undefined) {
          yield { kind: 'upsert', header: { ...header, type: 'link', size: 0, linkname: first } };
          continue;
        }
        inodes.set(inode, path);
      }
      yield { kind: 'upsert', header, open: () => createReadStream(hostPath) };
      continue;
    }
    yield { kind: 'upsert', header };
    if (header.type === 'directory') yield* walk(tree, path, inodes);
  }
}
