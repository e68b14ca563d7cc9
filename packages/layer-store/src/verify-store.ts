import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MediaType, type Descriptor } from '@kiln/oci';
import { readIndexFile } from './index-file.js';
import { parseManifest } from './parse-manifest.js';
import { readJson } from './read-json.js';
import type { StorePaths } from './store-paths.js';

export interface VerifyReport {
  readonly ok: boolean;
  readonly problems: string[];
}

/**
 * Checks the whole store without changing it: every blob file's content hashes to its name, and
 * every blob reachable from index.json (manifests, their configs and layers) is present with the
 * descriptor's size and digest. Each problem is one human-readable line.
 */
export async function verifyStore(paths: StorePaths): Promise<VerifyReport> {
  const problems: string[] = [];
  const files = new Map<string, { size: number; intact: boolean }>();
  for (const name of (await readdir(paths.blobs)).sort()) {
    if (!/^[0-9a-f]{64}$/.test(name)) {
      problems.push(`blobs/sha256/${name}: not a sha256 blob name`);
      continue;
    }
    const { hex, size } = await hashFile(join(paths.blobs, name));
    files.set(name, { size, intact: hex === name });
    if (hex !== name) problems.push(`blobs/sha256/${name}: content hashes to sha256:${hex}`);
  }
  const check = (d: Descriptor, from: string): boolean => {
    const file = files.get(d.digest.slice('sha256:'.length));
    if (file === undefined) problems.push(`${from}: blob ${d.digest} is missing`);
    else if (file.size !== d.size)
      problems.push(`${from}: blob ${d.digest} has ${file.size} bytes, expected ${d.size}`);
    else return file.intact;
    return false;
  };
  let index;
  try {
    index = await readIndexFile(paths);
  } catch (err) {
    problems.push(`index.json: ${(err as Error).message}`);
    return { ok: false, problems };
  }
  for (const entry of index.manifests) {
    const from = `index.json entry ${entry.annotations?.['org.opencontainers.image.ref.name'] ?? entry.digest}`;
    if (!check(entry, from)) continue;
    if (entry.mediaType !== MediaType.ImageManifest && entry.mediaType !== MediaType.DockerManifest) continue;
    try {
      const manifest = parseManifest(await readJson(paths, entry.digest));
      check(manifest.config, `manifest ${entry.digest} config`);
      manifest.layers.forEach((layer, i) => check(layer, `manifest ${entry.digest} layer ${i}`));
    } catch (err) {
      problems.push(`manifest ${entry.digest}: ${(err as Error).message}`);
    }
  }
  return { ok: problems.length === 0, problems };
}

async function hashFile(path: string): Promise<{ hex: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(createReadStream(path), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      hash.update(chunk);
      size += chunk.length;
    }
  });
  return { hex: hash.digest('hex'), size };
}
