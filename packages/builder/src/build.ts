import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { formatImageName, parseImageName, type Digest } from '@kiln/oci';
import { LayerStore, type Image } from '@kiln/layer-store';
import { parseDockerfile, type Dockerfile } from '@kiln/parser';
import { Snapshotter, type ExtraHost, type Rlimits, type StepLimits } from '@kiln/runner-native';
import { BuilderError } from './builder-error.js';
import { ExplainLog } from './cache/explain-log.js';
import { prefetchStamps } from './copy/copy-memo.js';
import type { CacheExportSpec, CacheImportSpec } from './cache/cache-spec.js';
import { exportCache, withInlineCache } from './cache/export-cache.js';
import { importCache } from './cache/imported-cache.js';
import { CacheMounts } from './cache/cache-mounts.js';
import type { CachedStep } from './cache/step-cache.js';
import { StatCache } from './cache/stat-cache.js';
import { loadContextFilter } from './context/context-filter.js';
import { snapshotRoot } from './prune.js';
import { registerBuild } from './store/active-builds.js';
import { enforceStoreCap } from './store/enforce-store-cap.js';
import { storeBlobOrigins } from './store/store-blob-origins.js';
import { storePlainHttpMemo } from './store/store-plain-http-memo.js';
import { writeBuildImage } from './store/write-build-image.js';
import type { OutputSpec } from './outputs/output-spec.js';
import { withLabels } from './outputs/with-labels.js';
import { writeOutputs } from './outputs/write-outputs.js';
import { squashStage } from './outputs/squash-stage.js';
import { prepareLayers } from './steps/prepare-layers.js';
import { plan, type BuildGraph } from './plan/plan.js';
import { silentReporter, type Reporter } from './progress/reporter.js';
import { runStages } from './schedule/run-stages.js';
import type { StageState } from './state/stage-state.js';
import { buildStage } from './build-stage.js';
import type { StepContext } from './steps/step-context.js';

export interface BuildOptions {
  /** The store root (an OCI image layout plus kiln's records). */
  readonly root: string;
  readonly contextDir: string;
  /** Path of the Dockerfile; defaults to `<contextDir>/Dockerfile`. */
  readonly dockerfile?: string;
  readonly tags?: readonly string[];
  readonly buildArgs?: ReadonlyMap<string, string>;
  readonly target?: string;
  /** `--platform`: kiln builds for the host's platform, so only that one is accepted. */
  readonly platforms?: readonly string[];
  readonly noCache?: boolean;
  readonly outputs?: readonly OutputSpec[];
  /** `--label K=V`: added to the final image's config Labels (over those of the Dockerfile). */
  readonly labels?: ReadonlyMap<string, string>;
  /** Stages run at the same time at most (default: the number of cores). */
  readonly jobs?: number;
  readonly network?: 'host' | 'none';
  /** `--ulimit`, parsed: resource limits of every RUN step. */
  readonly rlimits?: Rlimits;
  /** `--add-host HOST:IP`, parsed: lines added to every RUN step's /etc/hosts. */
  readonly extraHosts?: readonly ExtraHost[];
  readonly sourceDateEpoch?: number;
  /** Registries reached over plain HTTP besides loopback ones (`host` or `host:port`). */
  readonly insecureRegistries?: readonly string[];
  /** CA files trusted for HTTPS to registries besides the system's and certs.d (`--registry-ca`). */
  readonly registryCaFiles?: readonly string[];
  /** Secrets for `RUN --mount=type=secret`: id → host file (never stored in the image or cache). */
  readonly secrets?: ReadonlyMap<string, string>;
  /** ssh agents for `RUN --mount=type=ssh`: id → the agent's Unix socket (the path never enters the image or cache). */
  readonly ssh?: ReadonlyMap<string, string>;
  /** cgroup limits for every RUN step (`--memory`, `--pids-limit`, `--cpus`); fails where the host cannot enforce one. */
  readonly stepLimits?: StepLimits;
  /** Milliseconds each RUN step may take (`--step-timeout`); a step over it fails the build. */
  readonly stepTimeout?: number;
  /** `--cache-from`: caches whose records are consulted after the local cache (read at build start). */
  readonly cacheFrom?: readonly CacheImportSpec[];
  /** `--cache-to`: where this build's cache records are exported once the image is built. */
  readonly cacheTo?: readonly CacheExportSpec[];
  /** `--pull`: FROM images named by tag are always checked against their registry. */
  readonly pull?: boolean;
  /** `--squash`: the layers the final stage added on top of its base become one layer. */
  readonly squash?: boolean;
}

export interface BuildResult {
  readonly manifestDigest: Digest;
  readonly image: Image;
  /** The names tagged in the local store, normalised (`name:tag`). */
  readonly tags: readonly string[];
}

/**
 * Builds the Dockerfile into the local store. Tags are written only after every stage and the
 * image are complete, so a failed or cancelled build never moves a tag.
 */
export async function build(
  options: BuildOptions,
  io: {
    readonly reporter?: Reporter;
    readonly signal?: AbortSignal;
    /** Where outputs with `dest: '-'` are streamed; left open. */
    readonly stdout?: Writable;
    /** Told about problems that do not fail the build (an unreadable `--cache-from`). */
    readonly warn?: (message: string) => void;
    /** Told about each image pushed by a `type=registry` output (`--push`). */
    readonly onPushed?: (reference: string, digest: Digest) => void;
  } = {},
): Promise<BuildResult> {
  const reporter = io.reporter ?? silentReporter;
  const signal = io.signal ?? new AbortController().signal;
  const contextDir = resolve(options.contextDir);
  const dockerfilePath = resolve(options.dockerfile ?? join(contextDir, 'Dockerfile'));
  const tags = (options.tags ?? []).map((t) => formatImageName(parseImageName(t)));
  let text: string;
  try {
    text = readFileSync(dockerfilePath, 'utf8');
  } catch (cause) {
    throw new BuilderError('INVALID_INSTRUCTION', `cannot read Dockerfile ${dockerfilePath}`, { cause });
  }
  const df = parseDockerfile(text, { file: basename(dockerfilePath) });
  const buildArgs = options.buildArgs ?? new Map<string, string>();
  const graph = plan(df, { buildArgs, target: options.target, platforms: options.platforms });
  const store = await LayerStore.open(options.root);
  const snapshotter = new Snapshotter(snapshotRoot(options.root));
  const release = await registerBuild(options.root);
  try {
    await snapshotter.removeStale();
    return await buildGraph({
      options,
      io: { reporter, signal, stdout: io.stdout, warn: io.warn ?? (() => undefined), onPushed: io.onPushed },
      df,
      graph,
      store,
      snapshotter,
      contextDir,
      dockerfilePath,
      tags,
      buildArgs,
    });
  } catch (err) {
    // Whatever noticed the abort first (the scheduler, the runner), callers see one error.
    if (signal.aborted && !(err instanceof BuilderError && err.code === 'CANCELLED'))
      throw new BuilderError('CANCELLED', 'build cancelled', { cause: err });
    throw err;
  } finally {
    await release();
    if (!signal.aborted) await enforceStoreCap(store, io.warn ?? (() => undefined));
  }
}

interface Prepared {
  readonly options: BuildOptions;
  readonly io: {
    readonly reporter: Reporter;
    readonly signal: AbortSignal;
    readonly stdout?: Writable;
    readonly warn: (message: string) => void;
    readonly onPushed?: (reference: string, digest: Digest) => void;
  };
  readonly df: Dockerfile;
  readonly graph: BuildGraph;
  readonly store: LayerStore;
  readonly snapshotter: Snapshotter;
  readonly contextDir: string;
  readonly dockerfilePath: string;
  readonly tags: readonly string[];
  readonly buildArgs: ReadonlyMap<string, string>;
}

async function buildGraph(p: Prepared): Promise<BuildResult> {
  const { options, df, graph, store, snapshotter, contextDir, tags, buildArgs } = p;
  const { reporter, signal } = p.io;
  const epoch = options.sourceDateEpoch;
  const statCache = await StatCache.load(options.root);
  const explain = await ExplainLog.load(options.root, [contextDir, p.dockerfilePath, options.target ?? '']);
  const stamps = prefetchStamps(explain.previousAll(), contextDir);
  const importedCache =
    options.cacheFrom && options.cacheFrom.length > 0 && !options.noCache
      ? await importCache(options.cacheFrom, {
          insecure: options.insecureRegistries,
          caFiles: options.registryCaFiles,
          plainHttp: storePlainHttpMemo(store),
          origins: storeBlobOrigins(store),
          signal,
          warn: p.io.warn,
        })
      : undefined;
  const ctx: StepContext = {
    store,
    snapshotter,
    reporter,
    signal,
    contextDir,
    contextFilter: await loadContextFilter(contextDir, p.dockerfilePath),
    statCache,
    explain,
    stamps,
    file: df.file,
    escape: df.escape,
    buildArgs,
    globalArgs: graph.globalArgs,
    noCache: options.noCache ?? false,
    secrets: options.secrets ?? new Map(),
    ssh: options.ssh ?? new Map(),
    stepLimits: options.stepLimits,
    stepTimeout: options.stepTimeout,
    created: new Date(epoch !== undefined ? epoch * 1000 : Date.now()).toISOString(),
    sourceDateEpoch: epoch,
    defaultNetwork: options.network ?? 'host',
    ...(options.extraHosts?.length ? { extraHosts: options.extraHosts } : {}),
    ...(options.rlimits && Object.keys(options.rlimits).length > 0 ? { rlimits: options.rlimits } : {}),
    insecureRegistries: options.insecureRegistries,
    registryCaFiles: options.registryCaFiles,
    inflight: new Map(),
    importedCache,
    pull: options.pull,
    cacheMounts: new CacheMounts(importedCache),
    builtSteps: new Map(),
  };
  let nextId = 1;
  const results = await runStages<StageState>(
    graph.order,
    (i) => dependencies(graph, i),
    (i, deps) => buildStage(graph, df, i, deps, ctx, () => nextId++),
    { jobs: options.jobs ?? availableParallelism(), signal },
  ).finally(() => statCache.save());
  const final = results.get(graph.target);
  if (!final) throw new Error('internal: target stage has no result');
  const cacheTo = options.cacheTo ?? [];
  const finalSteps = new Map<string, CachedStep>();
  for (const key of final.steps ?? []) {
    const step = ctx.builtSteps?.get(key);
    if (step) finalSteps.set(key, step);
  }
  // Outputs of the final rootfs still read `final`'s layers: squashing keeps the same filesystem.
  const squashed = options.squash ? await squashStage(final, ctx) : final;
  const plain = await writeBuildImage(
    store,
    { ...withLabels(squashed.config, options.labels), created: ctx.created },
    squashed.layers,
    { tags, sourceDateEpoch: epoch },
  );
  const image = cacheTo.some((c) => c.type === 'inline')
    ? await withInlineCache(store, plain, finalSteps)
    : plain;
  // Outputs before tags: a build whose output fails has failed, and must not move a tag.
  await writeOutputs(options.outputs ?? [], {
    store,
    snapshotter,
    image,
    prepareLayers: () => prepareLayers(final, ctx),
    tags,
    sourceDateEpoch: epoch,
    stdout: p.io.stdout,
    insecureRegistries: options.insecureRegistries,
    registryCaFiles: options.registryCaFiles,
    signal,
    onPushed: p.io.onPushed,
  });
  await exportCache(cacheTo, {
    store,
    records: { min: finalSteps, max: ctx.builtSteps ?? new Map() },
    mounts: () =>
      ctx.cacheMounts?.layers(store, signal, { sourceDateEpoch: epoch }) ?? Promise.resolve(new Map()),
    insecure: options.insecureRegistries,
    caFiles: options.registryCaFiles,
    signal,
  });
  for (const tag of tags) await store.tag(tag, image.manifestDescriptor);
  await explain.save();
  return { manifestDigest: image.manifestDescriptor.digest, image, tags };
}

function dependencies(graph: BuildGraph, index: number): readonly number[] {
  return graph.stages[index]?.deps ?? [];
}
