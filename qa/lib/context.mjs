// Writes a case's build context from its description, the same bytes and times on every run.
import fs from 'node:fs';
import path from 'node:path';
import { sh } from '../../bench/lib/processes.mjs';

/** Every file and directory of a context gets this modification time (2001-09-09). */
export const CONTEXT_MTIME = 1000000000;

const COMPRESSORS = { gzip: ['gzip', '-n'], bzip2: ['bzip2'], xz: ['xz'], zstd: ['zstd', '-q'] };

/**
 * Writes `files` below `dir` (which must not exist), and `dockerfile` as its Dockerfile if given. A file is a string (its
 * text, mode 0644) or `{ content, mode, uid, gid }`, `{ symlink: target }`, `{ hardlink: path }`
 * (a link to another file of the context, written after it), `{ dir: true, mode }`, or
 * `{ tar: files }`: a tar archive of the described entries (same shapes) made by GNU tar;
 * `compress` (gzip, bzip2, xz, zstd) compresses a file or archive.
 */
export function writeContext(dir, { dockerfile, files = {} }) {
  fs.mkdirSync(dir, { recursive: true });
  writeTree(dir, files, `${dir}.staging`);
  if (dockerfile !== undefined) fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
  sh('find', [dir, '-exec', 'touch', '-h', '-d', `@${CONTEXT_MTIME}`, '{}', '+']);
}

function writeTree(dir, files, scratch) {
  const entries = Object.entries(files);
  // Hard links last: their targets must exist.
  const isLink = ([, s]) => Number(typeof s === 'object' && s.hardlink !== undefined);
  entries.sort((a, b) => isLink(a) - isLink(b));
  for (const [name, spec] of entries) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const s = typeof spec === 'string' ? { content: spec } : spec;
    if (s.symlink !== undefined) fs.symlinkSync(s.symlink, file);
    else if (s.hardlink !== undefined) fs.linkSync(path.join(dir, s.hardlink), file);
    else if (s.dir) fs.mkdirSync(file, { recursive: true });
    else if (s.tar !== undefined) writeTar(file, s.tar, `${scratch}-${path.basename(name)}`);
    else fs.writeFileSync(file, s.content ?? '');
    if (s.symlink === undefined && s.hardlink === undefined) {
      if (s.mode !== undefined) fs.chmodSync(file, s.mode);
      else if (!s.dir && s.tar === undefined) fs.chmodSync(file, 0o644);
      if (s.uid !== undefined) fs.chownSync(file, s.uid, s.gid ?? s.uid);
    }
    if (s.compress) compress(file, s.compress);
  }
}

function writeTar(file, entries, staging) {
  fs.mkdirSync(staging, { recursive: true });
  writeTree(staging, entries, staging);
  sh('find', [staging, '-exec', 'touch', '-h', '-d', `@${CONTEXT_MTIME}`, '{}', '+']);
  sh('tar', ['--sort=name', '--numeric-owner', '-C', staging, '-cf', file, '.']);
  fs.rmSync(staging, { recursive: true, force: true });
}

function compress(file, how) {
  const [cmd, ...args] = COMPRESSORS[how] ?? [];
  if (cmd === undefined) throw new Error(`unknown compression ${how}`);
  sh('sh', ['-c', `${[cmd, ...args].join(' ')} -c < "$1" > "$1.z" && mv "$1.z" "$1"`, 'sh', file]);
}
