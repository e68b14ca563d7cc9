import { createCipheriv, createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import type { Digest, FsChange } from '@kiln/oci';
import { gzipMemberMemo } from './gzip-member-memo.js';
import { LayerStore, type Layer } from './index.js';
import { GZIP_BLOCK_BYTES } from './parallel-gzip.js';
import { blobPath, storePaths } from './store-paths.js';

let root: string;
let store: LayerStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kiln-members-'));
  store = await LayerStore.open(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const T = new Date('2024-01-02T03:04:05Z');

/** Incompressible-ish bytes, fixed for a seed: the same file twice is the same layer. */
function bytes(seed: string, n: number): Buffer {
  const key = Buffer.alloc(16);
  key.write(seed.padEnd(16, '.').slice(0, 16));
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

/** 64 files of 100 KiB (6.4 MiB of tar: 7 blocks); `changed` gets other bytes of the same size. */
function files(changed?: number): FsChange[] {
  return Array.from({ length: 64 }, (_, i) => {
    const data = bytes(i === changed ? `other-${i}` : `file-${i}`, 100 * 1024);
    return {
      kind: 'upsert' as const,
      header: {
        path: `d/f${String(i).padStart(2, '0')}`,
        type: 'file' as const,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: data.length,
        mtime: T,
      },
      open: () => Readable.from([data]),
    };
  });
}

async function* changes(list: readonly FsChange[]): AsyncIterable<FsChange> {
  yield* list;
}

async function blob(layer: Layer): Promise<Buffer> {
  return readFile(blobPath(storePaths(root), layer.descriptor.digest));
}

type Members = [string, number, number?][];

/** Rewrites the store's one gzip member record (its `members`) with `edit`. */
async function editMemberRecord(edit: (members: Members) => Members): Promise<void> {
  const dir = join(root, 'kiln', 'cache');
  let edited = 0;
  for (const name of await readdir(dir)) {
    const text = await readFile(join(dir, name), 'utf8');
    if (!text.includes('"members"')) continue;
    const record = JSON.parse(text) as { members: Members };
    record.members = edit(record.members);
    await writeFile(join(dir, name), JSON.stringify(record));
    edited++;
  }
  expect(edited).toBe(1);
}

describe('gzip members reused from an earlier blob', () => {
  it('gives the bytes compressing would give, and reuses the unchanged blocks', async () => {
    const first = await store.writeLayer(changes(files()));
    const reused = await store.writeLayer(changes(files(40)), { reuse: first.descriptor.digest });
    // The same layer written in a fresh store, without anything to reuse.
    const otherRoot = await mkdtemp(join(tmpdir(), 'kiln-members-fresh-'));
    try {
      const fresh = await (await LayerStore.open(otherRoot)).writeLayer(changes(files(40)));
      expect(reused.descriptor).toEqual(fresh.descriptor);
      expect(reused.diffId).toBe(fresh.diffId);
    } finally {
      await rm(otherRoot, { recursive: true, force: true });
    }
    expect(reused.descriptor.digest).not.toBe(first.descriptor.digest);
    // Which blocks the memo finds: every block of the new tar but the one holding file 40.
    const tar = gunzipSync(await blob(reused));
    const memo = await gzipMemberMemo(storePaths(root), 6, first.descriptor.digest);
    const found: boolean[] = [];
    for (let at = 0; at < tar.length; at += GZIP_BLOCK_BYTES) {
      const block = tar.subarray(at, at + GZIP_BLOCK_BYTES);
      const hash = createHash('sha256').update(block).digest('hex');
      found.push((await memo.memo.find(hash, block)) !== undefined);
    }
    await memo.close();
    // Entry 40 (header and data) spans bytes [40, 41) * (512 + 102400) of the tar: the blocks it
    // touches are new, every other block is found.
    const start = 40 * (512 + 102400);
    const end = 41 * (512 + 102400);
    const touched = (i: number): boolean => i * GZIP_BLOCK_BYTES < end && (i + 1) * GZIP_BLOCK_BYTES > start;
    expect(found).toEqual(found.map((_, i) => !touched(i)));
    expect(found.filter((f) => !f).length).toBeGreaterThan(0);
    expect(found.length).toBeGreaterThanOrEqual(7);
  });

  it('compresses again when the record does not match its blob (trailer check)', async () => {
    const first = await store.writeLayer(changes(files()));
    // Shift every recorded member by one byte: each found member then fails its CRC check.
    await editMemberRecord((members) => {
      const first0 = members[0];
      if (first0) first0[1] += 1;
      return members;
    });
    const memo = await gzipMemberMemo(storePaths(root), 6, first.descriptor.digest);
    const tar = gunzipSync(await blob(first));
    const block = tar.subarray(GZIP_BLOCK_BYTES, 2 * GZIP_BLOCK_BYTES);
    const hash = createHash('sha256').update(block).digest('hex');
    expect(await memo.memo.find(hash, block)).toBeUndefined();
    await memo.close();
    // And a layer written with that bad record is still right.
    const again = await store.writeLayer(changes(files(40)), { reuse: first.descriptor.digest });
    expect(
      createHash('sha256')
        .update(gunzipSync(await blob(again)))
        .digest('hex'),
    ).toBe(again.diffId.slice(7));
  });

  it('still uses a record written before members kept their CRC (checking the CRC of the block)', async () => {
    const first = await store.writeLayer(changes(files()));
    await editMemberRecord((members) => {
      expect(members.every((m) => m.length === 3)).toBe(true);
      return members.map(([hash, length]) => [hash, length]);
    });
    const tar = gunzipSync(await blob(first));
    const block = tar.subarray(GZIP_BLOCK_BYTES, 2 * GZIP_BLOCK_BYTES);
    const hash = createHash('sha256').update(block).digest('hex');
    const memo = await gzipMemberMemo(storePaths(root), 6, first.descriptor.digest);
    expect(await memo.memo.find(hash, block)).toBeDefined();
    // The block's CRC is what is checked: another block under that hash is refused.
    const other = Buffer.from(block);
    other[0] = (other[0] ?? 0) ^ 0xff;
    expect(await memo.memo.find(hash, other)).toBeUndefined();
    await memo.close();
  });

  it('never reuses under another level, and writes plainly when the earlier blob is gone', async () => {
    const first = await store.writeLayer(changes(files()));
    const other = await gzipMemberMemo(storePaths(root), 1, first.descriptor.digest);
    const tar = gunzipSync(await blob(first));
    const block = tar.subarray(0, GZIP_BLOCK_BYTES);
    const hash = createHash('sha256').update(block).digest('hex');
    expect(await other.memo.find(hash, block)).toBeUndefined();
    await other.close();
    const same = await gzipMemberMemo(storePaths(root), 6, first.descriptor.digest);
    expect(await same.memo.find(hash, block)).toBeDefined();
    await same.close();
    await rm(blobPath(storePaths(root), first.descriptor.digest));
    const layer = await store.writeLayer(changes(files()), { reuse: 'sha256:'.padEnd(71, '0') as Digest });
    expect(layer.descriptor.digest).toBe(first.descriptor.digest);
  });
});
