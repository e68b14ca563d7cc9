import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { archiveKind } from './archive-kind.js';

// ADD unpacks a file when its decompressed start is a tar header, whatever its name; every other
// file (compressed or not) is copied. Fixtures are made with the tar, bzip2, xz and zstd CLIs.
// A missing program is tested end to end (test/e2e-add-archives.test.ts): jest's sandboxed
// process.env does not reach child_process.

let dir: string;
const at = (name: string): string => join(dir, name);
const sh = (script: string): void => void execFileSync('bash', ['-c', script], { cwd: dir });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-archive-kind-'));
  mkdirSync(at('src'));
  writeFileSync(at('src/one'), 'one\n');
  sh('tar -cf plain.tar -C src one && tar -czf t.tgz -C src one && tar -cjf t.tbz -C src one');
  sh('tar -cJf t.txz -C src one && tar --zstd -cf t.tzst -C src one && tar -cf empty.tar -T /dev/null');
  sh('cp t.txz renamed.bin && seq 1 3000 | gzip > notes.gz && printf plain | bzip2 > p.bz2');
  sh('printf plain | xz > p.xz && printf plain | zstd -q > p.zst && gzip -c empty.tar > empty-tar.gz');
  writeFileSync(at('empty.gz'), gzipSync(Buffer.alloc(0)));
  writeFileSync(at('random.gz'), gzipSync(randomBytes(4096)));
  writeFileSync(at('BZh.txt'), 'BZh is how this text starts\n');
  // "ustar" where a tar has it, but no valid checksum: not a tar for Go's reader either.
  const fake = Buffer.alloc(1024, 0x41);
  fake.write('ustar\0', 257, 'latin1');
  writeFileSync(at('fake.tar'), fake);
  const broken = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08]), randomBytes(600)]);
  writeFileSync(at('broken.gz'), broken);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('archiveKind', () => {
  it.each([
    ['plain.tar', 'tar'],
    ['t.tgz', 'tar+gzip'],
    ['t.tbz', 'tar+bzip2'],
    ['t.txz', 'tar+xz'],
    ['t.tzst', 'tar+zstd'],
    ['renamed.bin', 'tar+xz'],
  ])('unpacks %s as %s, by content', async (name, kind) => {
    expect(await archiveKind(at(name))).toBe(kind);
  });

  it.each([
    'notes.gz',
    'empty.gz',
    'random.gz',
    'broken.gz',
    'p.bz2',
    'p.xz',
    'p.zst',
    'BZh.txt',
    'fake.tar',
    'empty.tar',
    'empty-tar.gz',
    'src/one',
  ])('copies %s: its decompressed start is not a tar header', async (name) => {
    expect(await archiveKind(at(name))).toBeUndefined();
  });
});
