import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { systemHttpsAgent } from '@kiln/registry';

/** A private scratch directory under the store's temp dir; named so a killed build's is cleaned. */
export async function scratchDir(storeRoot: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = join(storeRoot, 'kiln', 'tmp', `${process.pid}-${randomBytes(8).toString('hex')}.tmp`);
  await mkdir(path, { recursive: true });
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A downloaded ADD source. */
export interface Download {
  readonly path: string;
  readonly digest: string;
  readonly size: number;
  /** The file name ADD gives it in a destination directory: the URL path's last segment. */
  readonly name: string;
  readonly mtime: Date;
}

const MAX_REDIRECTS = 5;

/**
 * Downloads an ADD URL into `dir`, hashing while streaming. With `checksum` (`sha256:<hex>`)
 * a mismatch rejects. The file's time is the server's Last-Modified, as Docker does.
 */
export async function download(
  url: string,
  dir: string,
  signal: AbortSignal,
  checksum?: string,
): Promise<Download> {
  const res = await fetchFollowing(url, signal);
  const path = join(dir, `download-${randomBytes(6).toString('hex')}`);
  const hash = createHash('sha256');
  let size = 0;
  res.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    size += chunk.length;
  });
  await pipeline(res, createWriteStream(path, { mode: 0o600 }), { signal });
  const digest = `sha256:${hash.digest('hex')}`;
  if (checksum !== undefined && checksum !== digest) {
    throw new Error(`checksum mismatch for ${url}: expected ${checksum}, got ${digest}`);
  }
  const modified = Date.parse(res.headers['last-modified'] ?? '');
  const name = posix.basename(new URL(url).pathname) || 'download';
  return { path, digest, size, name, mtime: new Date(Number.isNaN(modified) ? 0 : modified) };
}

async function fetchFollowing(url: string, signal: AbortSignal, hops = 0): Promise<IncomingMessage> {
  const https = url.startsWith('https:');
  // The system's CAs and NODE_EXTRA_CA_CERTS, as a docker build trusts: not Node's roots alone.
  const agent = https ? await systemHttpsAgent() : undefined;
  return new Promise((resolve, reject) => {
    const get = https ? httpsGet : httpGet;
    const req = get(url, { signal, agent }, (res) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location && hops < MAX_REDIRECTS) {
        res.resume();
        resolve(fetchFollowing(new URL(location, url).toString(), signal, hops + 1));
        return;
      }
      if (status !== 200) {
        res.resume();
        reject(new Error(`GET ${url}: ${status} ${res.statusMessage ?? ''}`.trim()));
        return;
      }
      resolve(res);
    });
    req.on('error', reject);
  });
}
