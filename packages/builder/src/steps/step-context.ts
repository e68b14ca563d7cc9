import type { LayerStore } from '@kiln/layer-store';
import type { ExtraHost, Rlimits, Snapshotter, StepLimits } from '@kiln/runner-native';
import type { ContextFilter } from '../context/context-filter.js';
import type { Reporter } from '../progress/reporter.js';
import type { StageState } from '../state/stage-state.js';
import type { CachedStep } from '../cache/step-cache.js';
import type { ExplainLog } from '../cache/explain-log.js';
import type { StatCache } from '../cache/stat-cache.js';
import type { StampPrefetch } from '../copy/copy-memo.js';
import type { ImportedCache } from '../cache/imported-cache.js';
import type { CacheMounts } from '../cache/cache-mounts.js';

/** What every step may use: the stores, where to report, and build-wide settings. Read-only. */
export interface StepContext {
  readonly store: LayerStore;
  readonly snapshotter: Snapshotter;
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
  readonly contextDir: string;
  /** Remembered content digests of context files (by stat). */
  readonly statCache: StatCache;
  /** What `.dockerignore` excludes from the context. */
  readonly contextFilter: ContextFilter;
  /** The Dockerfile's name in diagnostics. */
  readonly file: string;
  readonly escape: string;
  /** `--build-arg` values. */
  readonly buildArgs: ReadonlyMap<string, string>;
  /** ARGs declared before the first FROM, with their values. */
  readonly globalArgs: ReadonlyMap<string, string | undefined>;
  readonly noCache: boolean;
  /** `--secret id=…,src=…`: secret id → host file. */
  readonly secrets: ReadonlyMap<string, string>;
  /** `--ssh ID=SOCKET`: ssh agent id → the agent's Unix socket on the host. */
  readonly ssh: ReadonlyMap<string, string>;
  /** cgroup limits and a time limit (ms) for every RUN step. */
  readonly stepLimits?: StepLimits;
  readonly stepTimeout?: number;
  /** ISO time written into history and `created`. */
  readonly created: string;
  readonly sourceDateEpoch?: number;
  readonly defaultNetwork: 'host' | 'none';
  /** `--ulimit`: resource limits of every RUN step (part of RUN's cache key). */
  readonly rlimits?: Rlimits;
  /** `--add-host`: lines added to every RUN step's /etc/hosts (part of RUN's cache key). */
  readonly extraHosts?: readonly ExtraHost[];
  /** Registries reached over plain HTTP besides loopback ones (for pulling base images). */
  readonly insecureRegistries?: readonly string[];
  /** CA files trusted for HTTPS to registries besides the system's and certs.d (`--registry-ca`). */
  readonly registryCaFiles?: readonly string[];
  /** The stage being built (its index in the Dockerfile). */
  readonly stageIndex?: number;
  /** Inputs of this build's steps and the last build's, to explain cache misses. */
  readonly explain?: ExplainLog;
  /** Stamps of the context reads the last build's COPYs remembered, taken at the start. */
  readonly stamps?: StampPrefetch;
  /** Records imported with `--cache-from`, consulted after the local cache. */
  readonly importedCache?: ImportedCache;
  /** `--pull`: FROM asks the registry for tags the local store already has. */
  readonly pull?: boolean;
  /** Cache mount directories used and seeded in this build (for `--cache-to …,mounts=true`). */
  readonly cacheMounts?: CacheMounts;
  /** Every layer step this build computed or reused, by cache key (what `--cache-to mode=max` exports). */
  readonly builtSteps?: Map<string, CachedStep>;
  /** Layer steps being computed right now, by cache key (shared by all stages of a build). */
  readonly inflight: Map<string, Promise<CachedStep>>;
  /** The finished state of an earlier stage named by `--from` (name or index); undefined for an image. */
  readonly fromStage?: (ref: string) => StageState | undefined;
}
