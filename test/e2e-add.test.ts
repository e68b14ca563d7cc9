import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { run, storeWithBusybox, tempDir, writeContext, buildUnpacked } from './support/kiln.js';

const tmp = tempDir('kiln-add-');
const root = join(tmp.path, 'store');
const payload = 'served over http\n';
let server: ChildProcess;
let base = '';

/**
 * The HTTP server runs in a child process: the test drives kiln with spawnSync, which blocks this
 * process's event loop, so a server here could not answer. It stops by itself after 5 minutes.
 */
const SERVER = `
const http = require('node:http');
const payload = ${JSON.stringify(payload)};
const s = http.createServer((req, res) => {
  if (req.url === '/files/tool.txt') { res.writeHead(200, { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' }); res.end(payload); }
  else if (req.url === '/moved') { res.writeHead(302, { Location: '/files/tool.txt' }); res.end(); }
  else { res.writeHead(404); res.end('nope'); }
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
setTimeout(() => process.exit(0), 300000).unref();
`;

beforeAll(async () => {
  storeWithBusybox(root);
  server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) =>
    server.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => {
  server.kill();
  tmp.cleanup();
});

const context = (name: string, dockerfile: string, files: Record<string, string> = {}): string =>
  writeContext(tmp.path, name, dockerfile, files);

function build(ctx: string): { rootfs: string; status: number | null; stderr: string } {
  return buildUnpacked(root, tmp.path, ctx, { tag: 'add:t' });
}

describe('ADD', () => {
  it('downloads a URL (following redirects) with Last-Modified time, mode 0600, and a verified checksum', () => {
    const sum = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
    const ctx = context(
      'url',
      `FROM busybox\nADD --checksum=${sum} ${base}/files/tool.txt /opt/\nADD ${base}/moved /opt/renamed.txt\n`,
    );
    const { rootfs, status, stderr } = build(ctx);
    expect(stderr).not.toMatch(/^error/m);
    expect(status).toBe(0);
    const file = join(rootfs, 'opt', 'tool.txt');
    expect(readFileSync(file, 'utf8')).toBe(payload);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(file).mtime.toISOString()).toBe('2015-10-21T07:28:00.000Z');
    expect(readFileSync(join(rootfs, 'opt', 'renamed.txt'), 'utf8')).toBe(payload);
  });

  it('fails on a checksum mismatch and on a missing URL, with the line', () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const bad = build(context('badsum', `FROM busybox\nADD --checksum=${wrong} ${base}/files/tool.txt /x\n`));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('Dockerfile:2:1: ADD failed: checksum mismatch');
    const missing = build(context('404', `FROM busybox\nADD ${base}/none /x\n`));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('404');
  });

  it('extracts local tar and tar.gz archives by content, and copies them with --unpack=false', () => {
    const ctx = context(
      'archive',
      'FROM busybox\nADD app.tgz /srv/\nADD plain.tar /plain/\nADD --unpack=false app.tgz /keep/\n',
    );
    const src = join(tmp.path, 'archive-src');
    mkdirSync(join(src, 'bin'), { recursive: true });
    writeFileSync(join(src, 'bin', 'app'), 'app\n');
    writeFileSync(join(src, 'README'), 'readme\n');
    run('tar', ['-czf', join(ctx, 'app.tgz'), '--owner=7', '--group=8', '-C', src, '.']);
    run('tar', ['-cf', join(ctx, 'plain.tar'), '-C', src, 'README']);
    const { rootfs, status, stderr } = build(ctx);
    expect(stderr).not.toMatch(/^error/m);
    expect(status).toBe(0);
    expect(readFileSync(join(rootfs, 'srv', 'bin', 'app'), 'utf8')).toBe('app\n');
    expect(lstatSync(join(rootfs, 'srv', 'bin', 'app')).uid).toBe(7);
    expect(readFileSync(join(rootfs, 'plain', 'README'), 'utf8')).toBe('readme\n');
    expect(existsSync(join(rootfs, 'keep', 'app.tgz'))).toBe(true);
  });
});

describe('COPY heredocs', () => {
  it('writes heredoc files, expanding variables unless the delimiter is quoted', () => {
    const ctx = context(
      'heredoc-copy',
      [
        'FROM busybox',
        'ENV WHO=kiln',
        'COPY <<EOF <<"RAW" /etc/notes/',
        'hello $WHO',
        'EOF',
        'kept $WHO',
        'RAW',
        'COPY <<EOF /single.txt',
        'one file',
        'EOF',
        '',
      ].join('\n'),
    );
    const { rootfs, status, stderr } = build(ctx);
    expect(stderr).not.toMatch(/^error/m);
    expect(status).toBe(0);
    expect(readFileSync(join(rootfs, 'etc', 'notes', 'EOF'), 'utf8')).toBe('hello kiln\n');
    expect(readFileSync(join(rootfs, 'etc', 'notes', 'RAW'), 'utf8')).toBe('kept $WHO\n');
    expect(readFileSync(join(rootfs, 'single.txt'), 'utf8')).toBe('one file\n');
  });
});
