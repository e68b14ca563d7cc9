import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, ok, run, storeWithBusybox, tempDir, type Result } from './support/kiln.js';
import { describeWithRegistry, startRegistry, type RegistryServer } from './support/registry-server.js';

const describeRegistry = describeWithRegistry('build cache export/import tests');

const tmp = tempDir('kiln-cache-e2e-');
const storeA = join(tmp.path, 'store-a');
let registry: RegistryServer;
let base: string;
let n = 0;

/** A fresh, empty store (its base image comes from the registry, as on a new CI runner). */
function emptyStore(): string {
  return join(tmp.path, `store-${++n}`);
}

/** The steps of a `--progress plain` log: name by step number, and whether it was CACHED. */
function steps(log: string): { name: string; cached: boolean }[] {
  const names = new Map<string, string>();
  const cached = new Set<string>();
  for (const line of log.split('\n')) {
    const start = /^#(\d+) (\[.*)$/.exec(line);
    if (start?.[1] && start[2]) names.set(start[1], start[2]);
    const hit = /^#(\d+) CACHED$/.exec(line);
    if (hit?.[1]) cached.add(hit[1]);
  }
  return [...names].map(([id, name]) => ({ name, cached: cached.has(id) }));
}

/** RUN/COPY/ADD steps of a log that did not come from the cache. */
function executed(log: string): string[] {
  return steps(log)
    .filter((s) => / (RUN|COPY|ADD) /.test(s.name) && !s.cached)
    .map((s) => s.name);
}

function layers(root: string, ref: string): string[] {
  const out = JSON.parse(ok(kiln(root, ['inspect', ref]))) as {
    manifest?: { layers: { digest: string }[] };
  };
  if (!out.manifest) throw new Error(`kiln inspect ${ref}: no manifest`);
  return out.manifest.layers.map((l) => l.digest);
}

/** Every file of a directory tree with its bytes. */
function tree(dir: string, prefix = ''): Record<string, string> {
  const files: Record<string, string> = {};
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = join(prefix, e.name);
    if (e.isDirectory()) Object.assign(files, tree(dir, rel));
    else if (e.isFile()) files[rel] = readFileSync(join(dir, rel)).toString('base64');
  }
  return files;
}

/** Builds `context` into `root` with plain progress and the rootfs written to `<out>`. */
function build(root: string, context: string, out: string, extra: readonly string[]): Result {
  return kiln(root, [
    'build',
    '--progress',
    'plain',
    '-t',
    'app:ci',
    '-o',
    `type=local,dest=${out}`,
    ...extra,
    context,
  ]);
}

/** A context whose RUN steps write the time: equal files prove the step did not run again. */
function context(name: string, dockerfile: string): string {
  const dir = join(tmp.path, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'hello.txt'), `hello from ${name}\n`);
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

describeRegistry('build cache across machines (--cache-to / --cache-from)', () => {
  beforeAll(async () => {
    registry = await startRegistry(join(tmp.path, 'registry'));
    storeWithBusybox(storeA);
    base = `${registry.host}/busybox:latest`;
    ok(kiln(storeA, ['push', 'busybox:latest', base]));
  });
  afterAll(async () => {
    await registry?.stop();
    tmp.cleanup();
  });

  const multiStage = (): string =>
    [
      `FROM ${base} AS mid`,
      'RUN date +%s%N > /mid-stamp',
      `FROM ${base}`,
      'COPY hello.txt /hello.txt',
      'COPY --from=mid /mid-stamp /mid-stamp',
      'RUN date +%s%N > /stamp1 && echo one > /one.txt',
      'RUN date +%s%N > /stamp2 && cat /hello.txt > /two.txt',
      '',
    ].join('\n');

  it('CI: store A exports mode=max to a registry; on an empty store B every step is CACHED and nothing runs', () => {
    const ctx = context('ci', multiStage());
    const ref = `${registry.host}/cache:main`;
    const a = build(storeA, ctx, join(tmp.path, 'out-a'), [
      '--cache-to',
      `type=registry,ref=${ref},mode=max`,
    ]);
    ok(a);
    expect(executed(a.stderr + a.stdout)).toHaveLength(5);

    const storeB = emptyStore();
    const b = build(storeB, ctx, join(tmp.path, 'out-b'), ['--cache-from', `type=registry,ref=${ref}`]);
    ok(b);
    const log = b.stderr + b.stdout;
    expect(steps(log).filter((s) => / (RUN|COPY) /.test(s.name))).toHaveLength(5);
    expect(executed(log)).toEqual([]);
    // The RUNs wrote the time: the same bytes mean B reused A's layers instead of running them.
    const filesA = tree(join(tmp.path, 'out-a'));
    expect(filesA['stamp1']).toBeDefined();
    expect(tree(join(tmp.path, 'out-b'))).toEqual(filesA);
    expect(layers(storeB, 'app:ci')).toEqual(layers(storeA, 'app:ci'));
    expect(ok(kiln(storeB, ['store', 'verify']))).toMatch(/ok/);

    // A second build on B hits its local cache: the imported records were kept.
    const again = build(storeB, ctx, join(tmp.path, 'out-b2'), []);
    expect(executed(ok(again) + again.stderr)).toEqual([]);
  });

  it('mode=min exports only the final image steps; an intermediate stage step needs mode=max', () => {
    const ctx = context(
      'modes',
      [
        `FROM ${base} AS mid`,
        'RUN echo mid > /mid.txt',
        `FROM ${base}`,
        'COPY --from=mid /mid.txt /mid.txt',
        'RUN date +%s%N > /stamp',
        '',
      ].join('\n'),
    );
    const min = `${registry.host}/cache:min`;
    const max = `${registry.host}/cache:max`;
    ok(
      build(storeA, ctx, join(tmp.path, 'out-modes'), [
        '--cache-to',
        `type=registry,ref=${min},mode=min`,
        '--cache-to',
        `type=registry,ref=${max},mode=max`,
      ]),
    );
    const withMin = build(emptyStore(), ctx, join(tmp.path, 'out-min'), ['--cache-from', min]);
    ok(withMin);
    // mid's RUN is rebuilt (same bytes), so the final stage's keys still match the min cache.
    expect(executed(withMin.stderr)).toEqual(['[mid 2/2] RUN echo mid > /mid.txt']);
    const withMax = build(emptyStore(), ctx, join(tmp.path, 'out-max'), [
      '--cache-from',
      `type=registry,ref=${max}`,
    ]);
    ok(withMax);
    expect(executed(withMax.stderr)).toEqual([]);
    expect(tree(join(tmp.path, 'out-max'))).toEqual(tree(join(tmp.path, 'out-modes')));
  });

  it('type=local writes an OCI layout that an empty store imports with type=local,src=DIR', () => {
    const ctx = context('local', multiStage());
    const dir = join(tmp.path, 'cache-dir');
    ok(build(storeA, ctx, join(tmp.path, 'out-local-a'), ['--cache-to', `type=local,dest=${dir},mode=max`]));
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: unknown[] };
    expect(index.manifests).toHaveLength(1);
    // skopeo reads the cache as a normal OCI image manifest.
    const raw = JSON.parse(run('skopeo', ['inspect', '--raw', `oci:${dir}:kiln-cache`])) as {
      config: { mediaType: string };
    };
    expect(raw.config.mediaType).toBe('application/vnd.kiln.cache.config.v1+json');
    const storeC = emptyStore();
    const c = build(storeC, ctx, join(tmp.path, 'out-local-c'), ['--cache-from', `type=local,src=${dir}`]);
    ok(c);
    expect(executed(c.stderr)).toEqual([]);
    expect(tree(join(tmp.path, 'out-local-c'))).toEqual(tree(join(tmp.path, 'out-local-a')));
    expect(ok(kiln(storeC, ['store', 'verify']))).toMatch(/ok/);
  });

  it('type=inline: the pushed image itself is a cache source', () => {
    const ctx = context(
      'inline',
      [
        `FROM ${base}`,
        'COPY hello.txt /hello.txt',
        'RUN date +%s%N > /stamp',
        'RUN cat /stamp > /copy',
        '',
      ].join('\n'),
    );
    const image = `${registry.host}/app:inline`;
    ok(build(storeA, ctx, join(tmp.path, 'out-inline-a'), ['--cache-to', 'type=inline']));
    ok(kiln(storeA, ['push', 'app:ci', image]));
    const raw = JSON.parse(
      run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${image}`]),
    ) as {
      annotations?: Record<string, string>;
    };
    expect(Object.keys(JSON.parse(raw.annotations?.['dev.kiln.cache.v1'] ?? '{}') as object)).toEqual([
      'kilnCache',
      'records',
    ]);
    const d = build(emptyStore(), ctx, join(tmp.path, 'out-inline-d'), [
      '--cache-from',
      `type=registry,ref=${image}`,
    ]);
    ok(d);
    expect(executed(d.stderr)).toEqual([]);
    expect(tree(join(tmp.path, 'out-inline-d'))).toEqual(tree(join(tmp.path, 'out-inline-a')));
  });

  it('mounts=true carries RUN --mount=type=cache contents to an empty store, also through a cached rebuild', () => {
    // The RUN says whether its cache mount already held the download; the command changes
    // between builds, so the step runs every time while the cache id stays the same.
    const dockerfile = (version: string): string =>
      [
        `FROM ${base}`,
        `RUN --mount=type=cache,id=dl,target=/var/cache/dl sh -c 'if [ -f /var/cache/dl/pkg ]; then echo reused > /how; else echo fresh > /how; date +%s%N > /var/cache/dl/pkg; fi; cp /var/cache/dl/pkg /seen # ${version}'`,
        '',
      ].join('\n');
    const withMounts = `${registry.host}/cache:mounts`;
    const without = `${registry.host}/cache:nomounts`;
    const a = build(storeA, context('mounts-a', dockerfile('v1')), join(tmp.path, 'out-mounts-a'), [
      '--cache-to',
      `type=registry,ref=${withMounts},mode=max,mounts=true`,
      '--cache-to',
      `type=registry,ref=${without},mode=max`,
    ]);
    ok(a);
    const seenA = readFileSync(join(tmp.path, 'out-mounts-a', 'seen'), 'utf8');
    const ctxB = context('mounts-b', dockerfile('v2'));
    // Without mounts=true an empty store starts with an empty cache mount.
    ok(build(emptyStore(), ctxB, join(tmp.path, 'out-mounts-none'), ['--cache-from', without]));
    expect(readFileSync(join(tmp.path, 'out-mounts-none', 'how'), 'utf8')).toBe('fresh\n');

    const storeB = emptyStore();
    ok(build(storeB, ctxB, join(tmp.path, 'out-mounts-b'), ['--cache-from', withMounts]));
    expect(readFileSync(join(tmp.path, 'out-mounts-b', 'how'), 'utf8')).toBe('reused\n');
    expect(readFileSync(join(tmp.path, 'out-mounts-b', 'seen'), 'utf8')).toBe(seenA);
    // The cache mount is not part of the image.
    expect(() => readFileSync(join(tmp.path, 'out-mounts-b', 'var/cache/dl/pkg'))).toThrow();

    // A fully cached rebuild on B re-exports the mount it imported (it ran no RUN to refresh it).
    const again = `${registry.host}/cache:mounts-again`;
    const b2 = build(storeB, ctxB, join(tmp.path, 'out-mounts-b2'), [
      '--cache-to',
      `type=registry,ref=${again},mode=max,mounts=true`,
    ]);
    expect(executed(ok(b2) + b2.stderr)).toEqual([]);
    const c = build(emptyStore(), context('mounts-c', dockerfile('v3')), join(tmp.path, 'out-mounts-c'), [
      '--cache-from',
      again,
    ]);
    ok(c);
    expect(readFileSync(join(tmp.path, 'out-mounts-c', 'how'), 'utf8')).toBe('reused\n');
    expect(readFileSync(join(tmp.path, 'out-mounts-c', 'seen'), 'utf8')).toBe(seenA);
  });

  it('a missing or unreachable cache source is a warning, and the build runs without it', () => {
    const ctx = context('missing', `FROM ${base}\nRUN echo fine > /fine.txt\n`);
    const r = build(emptyStore(), ctx, join(tmp.path, 'out-missing'), [
      '--cache-from',
      `type=registry,ref=${registry.host}/cache:nope`,
      '--cache-from',
      `type=local,src=${join(tmp.path, 'no-such-dir')}`,
      '--cache-from',
      'type=registry,ref=127.0.0.1:1/cache:down',
    ]);
    ok(r);
    expect(r.stderr).toMatch(
      new RegExp(`warning: cache import from ${registry.host}/cache:nope skipped: .*manifest unknown`),
    );
    expect(r.stderr).toMatch(/warning: cache import from local:.*no-such-dir skipped/);
    expect(r.stderr).toMatch(/warning: cache import from 127\.0\.0\.1:1\/cache:down skipped/);
    expect(readFileSync(join(tmp.path, 'out-missing', 'fine.txt'), 'utf8')).toBe('fine\n');
  });
});
