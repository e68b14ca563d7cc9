import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '@kiln/oci';
import { pushImage, RegistryError, type BlobOrigins } from './index.js';
import { memoryImage } from '../../../test/support/memory-image.js';
import { startFaultProxy, type FaultProxy } from '../../../test/support/fault-proxy.js';
import {
  describeWithRegistry,
  startRegistry,
  type RegistryServer,
} from '../../../test/support/registry-server.js';

const describeRegistry = describeWithRegistry('fault-injection tests');

const KiB = 1024;
const MIN_FAULTS = 100;
const MAX_PUSHES = 150;

/** Blob origins in memory, so pushes through faults also try cross-repository mounts. */
function memoryOrigins(): BlobOrigins {
  const seen = new Map<Digest, string[]>();
  return {
    lookup: async (d) => [...(seen.get(d) ?? [])].reverse(),
    record: async (d, repo) => {
      const list = seen.get(d) ?? [];
      if (!list.includes(repo)) seen.set(d, [...list, repo]);
    },
  };
}

/** GET a JSON document straight from the registry (never through the proxy). */
async function getJson(host: string, path: string, accept?: string): Promise<Record<string, unknown>> {
  const res = await fetch(`http://${host}${path}`, { headers: accept ? { accept } : {} });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/**
 * Every manifest the registry serves, in every repository and under every tag, and for each
 * the blobs it references that the registry does not serve (HEAD straight on the registry).
 */
async function missingBlobs(host: string): Promise<{ manifests: number; missing: string[] }> {
  const accept =
    'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
  const { repositories } = (await getJson(host, '/v2/_catalog?n=1000')) as { repositories: string[] };
  let manifests = 0;
  const missing: string[] = [];
  for (const repo of repositories) {
    // A repository that got blobs but never a manifest has no tags to list (404).
    const list = await fetch(`http://${host}/v2/${repo}/tags/list`);
    const tags = list.status === 404 ? [] : (((await list.json()) as { tags: string[] | null }).tags ?? []);
    for (const tag of tags) {
      const m = (await getJson(host, `/v2/${repo}/manifests/${tag}`, accept)) as {
        config: { digest: string };
        layers: { digest: string }[];
      };
      manifests++;
      for (const d of [m.config.digest, ...m.layers.map((l) => l.digest)]) {
        const head = await fetch(`http://${host}/v2/${repo}/blobs/${d}`, { method: 'HEAD' });
        if (head.status !== 200) missing.push(`${repo}:${tag} -> ${d} (${head.status})`);
      }
    }
  }
  return { manifests, missing };
}

describeRegistry('pushes through injected faults (real registry behind a fault proxy)', () => {
  let dir: string;
  let registry: RegistryServer;
  let proxy: FaultProxy;
  const signal = new AbortController().signal;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-faults-'));
    registry = await startRegistry(join(dir, 'registry'));
    proxy = await startFaultProxy({ target: registry.host, seed: 20261126, rate: 0.2, stallMs: 2000 });
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`each push succeeds or fails clearly, over at least ${MIN_FAULTS} faults, and no manifest lacks a blob`, async () => {
    const origins = memoryOrigins();
    const shared = randomBytes(300 * KiB);
    const outcomes = { succeeded: 0, failed: new Map<string, number>() };
    let pushes = 0;
    let manifestsChecked = 0;
    for (; pushes < MAX_PUSHES && (await proxy.stats()).total < MIN_FAULTS; pushes++) {
      // A chunked layer (3 chunks), a monolithic one, and a layer every image shares (HEAD
      // finds it, or a mount brings it from another repository). Every other push from a source
      // that reads small blobs whole: their uploads are sent from memory, retries included.
      const { source } = memoryImage({
        layers: [randomBytes(600 * KiB + pushes), randomBytes(20 * KiB), shared],
        whole: pushes % 2 === 0,
      });
      const ref = `${proxy.host}/faults/app${pushes % 3}:${pushes}`;
      try {
        const digest = await pushImage(ref, source, {
          signal,
          credentials: async () => undefined,
          origins,
          monolithicMaxBytes: 100 * KiB,
          chunkBytes: 256 * KiB,
          idleTimeoutMs: 250,
          retry: { attempts: 4, baseDelayMs: 5 },
        });
        expect(digest).toBe(source.manifest.digest);
        outcomes.succeeded++;
      } catch (err) {
        // A clear error: ours, with a code and a message that says which request failed.
        expect(err).toBeInstanceOf(RegistryError);
        const e = err as RegistryError;
        expect(e.message).toMatch(/\S+ .*(blob|manifest)/);
        const key = `${e.code}${e.status ? ` ${e.status}` : ''}`;
        outcomes.failed.set(key, (outcomes.failed.get(key) ?? 0) + 1);
        console.log(`push ${pushes} failed: ${e.code}: ${e.message}`);
      }
      const { manifests, missing } = await missingBlobs(registry.host);
      expect(missing).toEqual([]);
      manifestsChecked = manifests;
    }
    const stats = await proxy.stats();
    const log = registry.requests();
    const resumes = log.filter((r) => /^GET \/v2\/\S+\/blobs\/uploads\/\S+ HTTP\/1\.1" 204$/.test(r)).length;
    const refused = log.filter((r) =>
      /^(PATCH|PUT) \/v2\/\S+\/blobs\/uploads\/\S+ HTTP\/1\.1" (400|404|416)$/.test(r),
    ).length;
    console.log(
      `fault injection: ${stats.total} faults in ${stats.requests} requests over ${pushes} pushes ` +
        `(${outcomes.succeeded} succeeded, failed: ${JSON.stringify(Object.fromEntries(outcomes.failed))}); ` +
        `by kind: ${JSON.stringify(stats.byKind)}; ${manifestsChecked} manifests served, every blob present; ` +
        `${resumes} upload sessions queried to resume, ${refused} chunk or finish requests refused`,
    );
    expect(stats.total).toBeGreaterThanOrEqual(MIN_FAULTS);
    // Failed chunks were resumed where the registry stopped, not only restarted.
    expect(resumes).toBeGreaterThan(0);
    expect(manifestsChecked).toBeGreaterThanOrEqual(outcomes.succeeded);
    // Faults are retried: most pushes get through, yet every kind of fault was injected.
    expect(outcomes.succeeded).toBeGreaterThan(pushes / 2);
    expect(Object.keys(stats.byKind).sort()).toEqual(
      ['401', '429', '500', '503', 'reset', 'reset-mid', 'stall', 'stall-mid'].sort(),
    );
  });
});
