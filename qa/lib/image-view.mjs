// Reads a pushed image as a client would: skopeo copies it from the registry into an OCI layout,
// umoci unpacks its layers into a root file system, and this walks the result into the shapes
// qa/lib/compare.mjs compares. Both tools' images go through exactly the same path.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sh } from '../../bench/lib/processes.mjs';

/** Files up to this size whose bytes are UTF-8 text are kept as text, for readable differences. */
const TEXT_BYTES = 4096;

/**
 * The view of the image `ref` in a plain-HTTP registry: `{ config, history, layers, files }` (see
 * diffImages). `dir` is an empty scratch directory for the layout and the unpacked bundle; the
 * caller removes it. Modification times at or after `buildStartMs` are reported as `build` (each
 * tool stamps what its RUN steps make with its own clock), earlier ones in seconds.
 */
export function viewImage(ref, dir, { buildStartMs }) {
  const layout = path.join(dir, 'oci');
  const bundle = path.join(dir, 'bundle');
  sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:qa`]);
  sh('umoci', ['unpack', '--image', `${layout}:qa`, bundle]);
  const index = readJson(path.join(layout, 'index.json'));
  const manifest = readJson(blobPath(layout, index.manifests[0].digest));
  // The config as pushed: skopeo's copy to an OCI layout converts a Docker config to OCI's, which
  // has no Healthcheck, OnBuild or Shell.
  const raw = sh('skopeo', ['inspect', '--raw', '--config', '--tls-verify=false', `docker://${ref}`]).stdout;
  const image = JSON.parse(raw);
  return {
    config: image.config ?? {},
    history: image.history ?? [],
    layers: manifest.layers.length,
    files: listTree(path.join(bundle, 'rootfs'), { buildStartMs }),
  };
}

/**
 * Every path below `root` (as an absolute path of the image, `/` itself included) with its
 * attributes: type, octal mode (permission and special bits), owner, size and sha256 of regular
 * files, a symlink's target, `hardlink` naming the first path (in sorted order) of the files that
 * share its inode, mtime (`build` or seconds), and the names of its extended attributes.
 */
export function listTree(root, { buildStartMs }) {
  const files = new Map();
  const firstOfInode = new Map();
  const xattrsOf = listXattrs(root);
  const walk = (rel) => {
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs);
    const entry = {
      type: typeOf(st),
      mode: (st.mode & 0o7777).toString(8).padStart(4, '0'),
      uid: st.uid,
      gid: st.gid,
      mtime: st.mtimeMs >= buildStartMs ? 'build' : Math.floor(st.mtimeMs / 1000),
    };
    const xattrs = xattrsOf.get(abs);
    if (xattrs) entry.xattrs = xattrs.sort().join(',');
    if (entry.type === 'file') {
      const bytes = fs.readFileSync(abs);
      entry.size = st.size;
      entry.sha256 = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
      if (bytes.length <= TEXT_BYTES && !bytes.includes(0)) entry.text = bytes.toString('utf8');
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const first = firstOfInode.get(key);
        if (first === undefined) firstOfInode.set(key, `/${rel}`);
        else entry.hardlink = first;
      }
    }
    if (entry.type === 'symlink') entry.link = fs.readlinkSync(abs);
    files.set(`/${rel}`.replace(/\/$/, '') || '/', entry);
    if (entry.type === 'dir')
      for (const name of fs.readdirSync(abs).sort()) walk(rel ? `${rel}/${name}` : name);
  };
  walk('');
  return files;
}

function typeOf(st) {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

/**
 * The names of the extended attributes of every path below `root` that has any, by absolute
 * path: one `getfattr -R` for the tree (empty when the attr package is not installed).
 */
function listXattrs(root) {
  const byPath = new Map();
  const r = sh('getfattr', ['-R', '-h', '-m', '-', '--absolute-names', root], { allowFail: true });
  if (r.status !== 0 || r.error) return byPath;
  let current;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = [];
      byPath.set(line.slice('# file: '.length), current);
    } else if (line && current) current.push(line.split('=')[0]);
  }
  return byPath;
}

function blobPath(layout, digest) {
  const [alg, hex] = digest.split(':');
  return path.join(layout, 'blobs', alg, hex);
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}
