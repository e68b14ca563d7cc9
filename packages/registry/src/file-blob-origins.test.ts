import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Digest, type Digest } from '@kiln/oci';
import { fileBlobOrigins } from './file-blob-origins.js';
import { rangeOffset } from './upload-status.js';

describe('fileBlobOrigins', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-origins-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records each repository once per blob and lists the newest first', async () => {
    const origins = fileBlobOrigins(dir);
    const d = sha256Digest(Buffer.from('layer'));
    expect(await origins.lookup(d)).toEqual([]);
    await origins.record(d, 'reg:5000/a');
    await origins.record(d, 'reg:5000/b');
    await origins.record(d, 'reg:5000/a');
    expect(await origins.lookup(d)).toEqual(['reg:5000/b', 'reg:5000/a']);
    expect(readFileSync(join(dir, 'sha256', d.slice(7)), 'utf8')).toBe('reg:5000/a\nreg:5000/b\n');
    // Another process (another instance on the same directory) sees the same record.
    expect(await fileBlobOrigins(dir).lookup(d)).toEqual(['reg:5000/b', 'reg:5000/a']);
  });

  it('refuses a digest that could escape the directory', async () => {
    const origins = fileBlobOrigins(dir);
    await expect(origins.lookup('sha256:../../etc/passwd' as Digest)).rejects.toMatchObject({
      code: 'PROTOCOL',
    });
  });
});

describe('rangeOffset (Range of an upload session)', () => {
  it('reads 0-<last> as last + 1 bytes, 0-0 as none, and refuses anything else', () => {
    expect(rangeOffset('0-1048575', 'x')).toBe(1048576);
    expect(rangeOffset('bytes=0-99', 'x')).toBe(100);
    expect(rangeOffset('0-0', 'x')).toBe(0);
    expect(rangeOffset(undefined, 'x')).toBeUndefined();
    expect(() => rangeOffset('5-10', 'x')).toThrow(/unreadable Range header/);
  });
});
