import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TarXattrScanner, decodePaxRecords } from './tar-xattr-scanner.js';

// GNU tar writes the archives (POSIX format, PAX xattr records, long names); the scanner must
// hand each entry its own attributes with binary values intact, whatever the chunk sizes.

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-scan-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const attr = (path: string, name: string, hex: string): void => {
  execFileSync('setfattr', ['-n', name, '-v', `0x${hex}`, path]);
};

test('each entry gets its own PAX xattrs, binary bytes intact, for any chunking', () => {
  const src = join(dir, 'src');
  const long = `${'l'.repeat(120)}`;
  mkdirSync(join(src, long), { recursive: true });
  writeFileSync(join(src, 'a'), 'x'.repeat(1500));
  attr(join(src, 'a'), 'user.bin', '00ff80');
  writeFileSync(join(src, 'b'), 'no attrs');
  writeFileSync(join(src, long, 'c'), 'c');
  attr(join(src, long, 'c'), 'user.text', '68656c6c6f');
  symlinkSync('a', join(src, 'z'));
  const tarFile = join(dir, 'x.tar');
  execFileSync('tar', [
    '--format=posix',
    '--xattrs',
    '--xattrs-include=user.*',
    '--sort=name',
    '-cf',
    tarFile,
    '-C',
    src,
    '.',
  ]);
  const names = execFileSync('tar', ['-tf', tarFile], { encoding: 'utf8' }).trim().split('\n');
  const bytes = execFileSync('cat', [tarFile]);
  for (const size of [1, 7, 512, 513, bytes.length]) {
    const scanner = new TarXattrScanner();
    for (let at = 0; at < bytes.length; at += size) scanner.write(bytes.subarray(at, at + size));
    const got = new Map(names.map((n) => [n, scanner.take()]));
    expect(scanner.take()).toBeUndefined();
    expect(got.get('./a')).toEqual({ 'user.bin': Buffer.from([0, 0xff, 0x80]) });
    expect(got.get(`./${long}/c`)).toEqual({ 'user.text': Buffer.from('hello') });
    expect(got.get('./b')).toBeUndefined();
    expect(got.get('./z')).toBeUndefined();
  }
});

test('decodePaxRecords keeps raw values and stops at a malformed record', () => {
  // "21 SCHILY.xattr.k=\xc3\x00\n" is 21 bytes, its own length included.
  const good = Buffer.concat([
    Buffer.from('21 SCHILY.xattr.k='),
    Buffer.from([0xc3, 0x00]),
    Buffer.from('\n'),
  ]);
  expect(good.length).toBe(21);
  expect(decodePaxRecords(good).get('SCHILY.xattr.k')).toEqual(Buffer.from([0xc3, 0x00]));
  expect([...decodePaxRecords(Buffer.concat([good, Buffer.from('99 path=short\n')])).keys()]).toEqual([
    'SCHILY.xattr.k',
  ]);
});
