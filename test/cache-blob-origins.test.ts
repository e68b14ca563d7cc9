import { join } from 'node:path';
import { kiln, ok, storeWithBusybox, tempDir, writeContext } from './support/kiln.js';
import { describeWithRegistry, startRegistry, type RegistryServer } from './support/registry-server.js';

// A registry cache and the image it serves live in one registry, in two repositories: no layer
// should travel twice. A fresh CI runner that takes its layers from `--cache-from` pushes the
// image by mounting them from the cache repository; a build that pushes its image and exports
// its cache mounts the image's layers into the cache repository.
const describeRegistry = describeWithRegistry('cache blob origin tests');

const tmp = tempDir('kiln-cache-origins-');
let registry: RegistryServer;
let base: string;
let n = 0;

/** A new, empty store: its base image comes from the registry, as on a new CI runner. */
const emptyStore = (): string => join(tmp.path, `store-${++n}`);

function layers(root: string, ref: string): string[] {
  const out = JSON.parse(ok(kiln(root, ['inspect', ref]))) as { manifest: { layers: { digest: string }[] } };
  return out.manifest.layers.map((l) => l.digest);
}

/**
 * How each blob reached `repository` in the access-log lines: `mounted` (a mount answered 201),
 * `sent` (an upload finished with its digest), or `not seen`.
 */
function arrivals(lines: readonly string[], repository: string, digests: readonly string[]): string[] {
  const path = `/v2/${repository}/blobs/uploads/`;
  return digests.map((d) => {
    const hex = d.replace(/^sha256:/, '');
    const mine = lines.filter((l) => l.includes(path) && l.includes(hex));
    if (mine.some((l) => l.startsWith('PUT ') && / 201$/.test(l))) return 'sent';
    if (mine.some((l) => l.startsWith('POST ') && l.includes('mount=') && / 201$/.test(l))) return 'mounted';
    return 'not seen';
  });
}

describeRegistry('layers shared by a registry cache and its image are mounted, not sent again', () => {
  beforeAll(async () => {
    registry = await startRegistry(join(tmp.path, 'registry'));
    const seed = join(tmp.path, 'seed');
    storeWithBusybox(seed);
    base = `${registry.host}/busybox:latest`;
    ok(kiln(seed, ['push', 'busybox:latest', base]));
  });
  afterAll(async () => {
    await registry?.stop();
    tmp.cleanup();
  });

  const dockerfile = (name: string): string =>
    [
      `FROM ${base}`,
      'COPY hello.txt /hello.txt',
      `RUN echo ${name} > /name.txt && date +%s%N > /stamp`,
      'RUN cat /hello.txt /name.txt > /both.txt',
      '',
    ].join('\n');

  it('a fresh store builds from --cache-from, then its push mounts every layer from the cache repository', () => {
    const ctx = writeContext(tmp.path, 'fresh', dockerfile('fresh'), { 'hello.txt': 'fresh ci\n' });
    const cache = `${registry.host}/fresh/cache:main`;
    ok(
      kiln(emptyStore(), ['build', '-t', 'app:1', '--cache-to', `type=registry,ref=${cache},mode=max`, ctx]),
    );

    const runner = emptyStore();
    const b = kiln(runner, ['build', '--progress', 'plain', '-t', 'app:1', '--cache-from', cache, ctx]);
    ok(b);
    expect(b.stderr.match(/^#\d+ CACHED$/gm)).toHaveLength(3);
    const image = layers(runner, 'app:1');
    expect(image).toHaveLength(4);

    const before = registry.requests().length;
    ok(kiln(runner, ['push', 'app:1', `${registry.host}/fresh/app:1`]));
    const log = registry.requests().slice(before);
    // The base from busybox's repository (it was pulled from there), the three others from the cache's.
    expect(arrivals(log, 'fresh/app', image)).toEqual(['mounted', 'mounted', 'mounted', 'mounted']);
    const from = image.map((d) => {
      const mount = log.find((l) => l.includes(d.replace(/^sha256:/, '')) && l.includes('from='));
      return decodeURIComponent(mount?.match(/from=([^&\s]+)/)?.[1] ?? '');
    });
    expect(from).toEqual(['busybox', 'fresh/cache', 'fresh/cache', 'fresh/cache']);
  });

  it('a build that pushes its image and exports its cache sends each layer once', () => {
    const ctx = writeContext(tmp.path, 'both', dockerfile('both'), { 'hello.txt': 'image and cache\n' });
    const app = `${registry.host}/both/app:1`;
    const cache = `${registry.host}/both/cache:main`;
    const root = emptyStore();
    const before = registry.requests().length;
    ok(kiln(root, ['build', '--push', '-t', app, '--cache-to', `type=registry,ref=${cache},mode=max`, ctx]));
    const log = registry.requests().slice(before);
    const image = layers(root, app);
    expect(arrivals(log, 'both/app', image)).toEqual(['mounted', 'sent', 'sent', 'sent']);
    expect(arrivals(log, 'both/cache', image.slice(1))).toEqual(['mounted', 'mounted', 'mounted']);
  });
});
