import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { digestHex, sha256Digest, type Digest, type FileHeader, type LayerFile } from '@kiln/oci';
import { CopySnapshot } from './copy-snapshot.js';
import { recordTree } from './copy-changes.js';
import { extractInWorker } from './extract-in-worker.js';
import { extractLayer } from './extract-layer.js';
import { lookupPath, type LayerView } from './lookup-path.js';
import { mergeLayers } from './merge-layers.js';
import { opaqueDirs } from './opaque-dirs.js';
import { loadDigestRecord, saveDigestRecord } from './digest-records.js';
import { linkFiles } from './link-files.js';
import { loadOpaqueRecord, saveOpaqueRecord } from './opaque-records.js';
import { RECORD_TEMP_PATTERN } from './layer-records.js';
import { removeOrphans } from './remove-orphans.js';
import { OverlaySnapshot } from './overlay-snapshot.js';
import { probeOverlay } from './probe-overlay.js';
import { requireRoot } from './require-root.js';
import { wholeSecondTimes } from './whole-second-times.js';
import { RunnerError } from './runner-error.js';
import type { Snapshot } from './snapshot.js';

/** `overlay`: overlayfs snapshots; `copy`: plain copies diffed by walking (hosts without overlayfs); `auto`: overlay when a probe mount works. */
export type SnapshotterKind = 'overlay' | 'copy' | 'auto';

/** A layer being unpacked before its diffId is known (see `Snapshotter.stage`). */
export interface StagedLayer {
  /**
   * Before `extract`: hardlinks the files of the reused layer (see `stage`) that stand for these
   * files of this one (same path and sha256, regular files with exactly these attributes, no
   * extended attributes), making their parent directories. Resolves to the paths linked: the tar
   * given to `extract` must then leave those files out (it still holds their directories).
   */
  linkReused(files: readonly ReusableFile[]): Promise<ReadonlySet<string>>;
  /** Whether the reused layer records a regular file at `path` with these bytes (sha256 hex). */
  reuses(path: string, digest: string): boolean;
  /**
   * After `extract`: adds to this layer's digest record regular files (no extended attributes)
   * the caller has proven were unpacked with these bytes (sha256 hex by path), such as files over
   * 1 MiB, which unpacking streams without hashing; paths already recorded keep their digest.
   */
  recordDigests(files: ReadonlyMap<string, string>): void;
  /**
   * Unpacks the uncompressed tar (read to its end, or destroyed on error); `thread` overrides
   * `stage`'s choice (a tar left small by `linkReused` is not worth a thread). `hash: false`: the
   * files are not hashed for the digest record (the caller gives their digests with
   * `recordDigests`).
   */
  extract(tar: Readable, opts?: { readonly thread?: boolean; readonly hash?: boolean }): Promise<void>;
  /** Puts the unpacked layer in place as `diffId` (kept as is when it already exists). */
  commit(diffId: Digest): Promise<void>;
  /** Removes what was unpacked. */
  discard(): Promise<void>;
}

/** A file of a staged layer that an equal file of the reused layer may stand for. */
export interface ReusableFile extends LayerFile {
  /** sha256 (hex) of its bytes. */
  readonly digest: string;
}

export interface SnapshotterOptions {
  /** Default `auto`. */
  readonly kind?: SnapshotterKind;
}

/**
 * Unpacked layers, active snapshots and cache mounts under one root directory:
 * `layers/<hex>/` (one lower dir per diffId, immutable once renamed into place),
 * `active/<random>/{upper,work}` or `{rootfs,work}` (one per prepared snapshot), `empty/` (the
 * lower dir of an image without layers), `cache/<hex of id>/` (RUN --mount=type=cache) and
 * `opaque/<hex>.json` (a layer's opaque directories, found once and kept beside it, see
 * `opaqueDirs`), `digests/<hex>.json` (the digests of a staged layer's files, see `stage`). Safe to share between processes: every layer and record appears by atomic rename.
 */
export class Snapshotter {
  /** Opaque directories per layer, in this process (see `opaqueDirs`). */
  private readonly opaque = new Map<string, Promise<Set<string>>>();
  private resolved: Promise<'overlay' | 'copy'> | undefined;

  constructor(
    private readonly root: string,
    private readonly options: SnapshotterOptions = {},
  ) {}

  /** The kind of snapshot `prepare()` makes; `auto` probes an overlay mount once. */
  kind(): Promise<'overlay' | 'copy'> {
    const wanted = this.options.kind ?? 'auto';
    if (wanted !== 'auto') return Promise.resolve(wanted);
    this.resolved ??= mkdir(this.root, { recursive: true })
      .then(() => probeOverlay(this.root))
      .then((ok) => (ok ? 'overlay' : 'copy'));
    return this.resolved;
  }

  /**
   * The persistent directory of the cache mount `id` (created, empty, when new): pass it as a
   * `CacheMount.source`. Ids are hashed into names, so any string is safe.
   */
  async cacheDir(id: string): Promise<string> {
    const dir = join(this.root, 'cache', digestHex(sha256Digest(id)));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  layerDir(diffId: Digest): string {
    return join(this.root, 'layers', digestHex(diffId));
  }

  async has(diffId: Digest): Promise<boolean> {
    // Synchronous: a stat costs microseconds, a thread-pool round trip ~0.1 ms, and every step asks.
    return statSync(this.layerDir(diffId), { throwIfNoEntry: false })?.isDirectory() ?? false;
  }

  /**
   * Unpacks the UNCOMPRESSED layer `tar` (whose digest is `diffId`; not verified here) into its
   * layer dir: extraction into a temp dir, then an atomic rename. Idempotent; when the layer is
   * already there, or another process wins the rename race, the extra copy is dropped. The stream
   * is read to its end, or destroyed (already unpacked, or on error). Hostile entries fail with
   * `UNSAFE_PATH` and leave nothing behind.
   */
  async unpack(diffId: Digest, tar: Readable): Promise<void> {
    requireRoot('unpacking a layer');
    if (await this.has(diffId)) {
      tar.destroy();
      return;
    }
    const layers = join(this.root, 'layers');
    await mkdir(layers, { recursive: true });
    const tmp = await mkdtemp(join(layers, `.unpack-${process.pid}-`));
    try {
      // mkdtemp makes 0700; a layer root is the container's "/" unless its tar says otherwise.
      await chmod(tmp, 0o755);
      await extractLayer(tar, tmp);
      await this.placeLayer(tmp, diffId);
    } catch (error) {
      if (error instanceof RunnerError) throw error;
      throw new RunnerError('UNPACK_FAILED', `cannot unpack layer ${diffId}: ${String(error)}`, undefined, {
        cause: error,
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Starts unpacking a layer whose diffId is not known yet, typically while it is being written
   * (writeLayer's `tee`): `extract(tar)` unpacks the uncompressed tar into a staging dir, with the
   * safety of `unpack`; then exactly one of `commit(diffId)` (renamed into place, or dropped when
   * the layer is already there) and `discard()`. With `reuse`, the unpacked layer of that diffId
   * (if any, with a digest record) lends its equal files as hardlinks (see extractLayer), which
   * turns a rebuild that changes one file of thousands into links. The digests of this layer's
   * files are recorded at commit, for the next one. With `thread`, the unpacking runs on a worker
   * thread (worth its start-up for big layers: the caller goes on writing the tar meanwhile).
   */
  async stage(opts: { readonly reuse?: Digest; readonly thread?: boolean } = {}): Promise<StagedLayer> {
    requireRoot('unpacking a layer');
    const layers = join(this.root, 'layers');
    // Synchronous calls, microseconds each: a COPY's critical path, where each thread-pool round
    // trip costs ~0.1 ms.
    mkdirSync(layers, { recursive: true });
    const tmp = mkdtempSync(join(layers, `.unpack-${process.pid}-`));
    chmodSync(tmp, 0o755);
    const reuse =
      opts.reuse !== undefined && (await this.has(opts.reuse))
        ? await loadDigestRecord(join(this.root, 'digests', `${digestHex(opts.reuse)}.json`))
        : undefined;
    const digests = new Map<string, string>();
    let done = false;
    const finish = async (): Promise<void> => {
      done = true;
      // Gone once committed; a discarded layer's files go in one synchronous walk.
      rmSync(tmp, { recursive: true, force: true });
    };
    return {
      linkReused: async (files) => {
        const linked = new Set<string>();
        if (reuse === undefined || opts.reuse === undefined) return linked;
        const candidates = files.filter((f) => reuse.get(f.path) === f.digest);
        const done = await linkFiles(this.layerDir(opts.reuse), tmp, candidates);
        candidates.forEach((f, i) => {
          if (!done[i]) return;
          linked.add(f.path);
          digests.set(f.path, f.digest);
        });
        return linked;
      },
      reuses: (path, digest) => reuse?.get(path) === digest,
      recordDigests: (files) => {
        for (const [path, digest] of files) if (!digests.has(path)) digests.set(path, digest);
      },
      extract: async (tar, how) => {
        try {
          await ((how?.thread ?? opts.thread) ? extractInWorker : extractLayer)(tar, tmp, {
            ...(how?.hash === false ? {} : { digests }),
            ...(reuse && opts.reuse !== undefined
              ? { reuse: { dir: this.layerDir(opts.reuse), digests: reuse } }
              : {}),
          });
        } catch (error) {
          if (error instanceof RunnerError) throw error;
          throw new RunnerError('UNPACK_FAILED', `cannot unpack a new layer: ${String(error)}`, undefined, {
            cause: error,
          });
        }
      },
      commit: async (diffId) => {
        if (done) throw new Error('internal: staged layer committed twice');
        try {
          if (await this.placeLayer(tmp, diffId)) {
            // Records only after the layer is in place: one without its layer is never read.
            await saveDigestRecord(join(this.root, 'digests'), `${digestHex(diffId)}.json`, digests);
          }
        } finally {
          await finish();
        }
      },
      discard: finish,
    };
  }

  /**
   * Makes the upper dir of `snapshot` (prepared here, its step exited) the unpacked layer
   * `diffId`, as containerd's overlay snapshotter commits: an upper dir is already in lower-dir
   * form (whiteout devices, opaque markers), so the layer is not unpacked again from its blob.
   * The caller promises that the layer's tar has exactly the upper's content (no mtime clamping);
   * its root gets a layer root's attributes (root-owned, 0755) and its entries the whole-second
   * times a tar records. Returns false, changing nothing,
   * for copy snapshots, persistent ones, or when the layer is already unpacked; release() the
   * snapshot either way.
   */
  async adoptUpper(snapshot: Snapshot, diffId: Digest): Promise<boolean> {
    if (
      !(snapshot instanceof OverlaySnapshot) ||
      !snapshot.upperDir.startsWith(join(this.root, 'active') + sep)
    )
      return false;
    if (await this.has(diffId)) return false;
    await chown(snapshot.upperDir, 0, 0);
    await chmod(snapshot.upperDir, 0o755);
    // The tar holds whole seconds: the snapshot must show later steps what an unpack would.
    wholeSecondTimes(snapshot.upperDir);
    const opaque = snapshot.opaqueFound;
    if (!(await this.placeLayer(snapshot.upperDir, diffId))) return false;
    this.opaque.set(diffId, Promise.resolve(new Set(opaque)));
    await saveOpaqueRecord(join(this.root, 'opaque'), `${digestHex(diffId)}.json`, opaque);
    return true;
  }

  /** Renames `dir` to the layer dir of `diffId`; false when that layer already exists. */
  private async placeLayer(dir: string, diffId: Digest): Promise<boolean> {
    try {
      renameSync(dir, this.layerDir(diffId));
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const lostRace = (code === 'ENOTEMPTY' || code === 'EEXIST') && (await this.has(diffId));
      if (!lostRace) throw err;
      return false;
    }
  }

  /** A fresh writable snapshot on `lowers` (bottom → top, all unpacked, else `LAYER_MISSING`). */
  async prepare(lowers: readonly Digest[]): Promise<Snapshot> {
    // Every step prepares a snapshot: independent checks and mkdirs run at the same time, as each
    // file-system call is a thread-pool round trip.
    const missing = (await Promise.all(lowers.map(async (d) => ((await this.has(d)) ? [] : [d])))).flat();
    if (missing[0] !== undefined) {
      throw new RunnerError('LAYER_MISSING', `layer ${missing[0]} is not unpacked`, 'call unpack() first');
    }
    const active = join(this.root, 'active');
    const prefix = join(active, `s-${process.pid}-`);
    // active/ exists after the first snapshot: create it only when mkdtemp says it is missing.
    const dir = await mkdtemp(prefix).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      await mkdir(active, { recursive: true });
      return mkdtemp(prefix);
    });
    if ((await this.kind()) === 'copy') return this.prepareCopy(lowers, dir);
    const upper = join(dir, 'upper');
    const work = join(dir, 'work');
    await Promise.all([
      // The upper dir's own attributes become those of the container's "/".
      mkdir(upper, { mode: 0o755 }).then(() => chmod(upper, 0o755)),
      mkdir(work, { mode: 0o700 }),
    ]);
    const lowerDirs = lowers.length > 0 ? lowers.map((d) => this.layerDir(d)) : [await this.emptyDir()];
    return new OverlaySnapshot(lowerDirs, upper, work, dir);
  }

  /**
   * A snapshot kept in `dir`, a directory the caller owns (a container's, outside this root):
   * `dir/upper` and `dir/work` are created when missing and reused when present, so opening it
   * again later (same `lowers`) shows what earlier runs changed. `removeStale` never touches it;
   * `release()` removes `dir`. Overlay only: throws `UNSUPPORTED` where only copies work, and
   * `LAYER_MISSING` when a lower is not unpacked.
   */
  async openPersistent(lowers: readonly Digest[], dir: string): Promise<Snapshot> {
    for (const diffId of lowers) {
      if (!(await this.has(diffId))) {
        throw new RunnerError('LAYER_MISSING', `layer ${diffId} is not unpacked`, 'call unpack() first');
      }
    }
    if ((await this.kind()) === 'copy') {
      throw new RunnerError('UNSUPPORTED', 'persistent snapshots need overlayfs, which this host lacks');
    }
    const upper = join(dir, 'upper');
    const work = join(dir, 'work');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (!(await stat(upper).catch(() => undefined))) {
      await mkdir(upper, { mode: 0o755 });
      await chmod(upper, 0o755);
    }
    await mkdir(work, { recursive: true, mode: 0o700 });
    const lowerDirs = lowers.length > 0 ? lowers.map((d) => this.layerDir(d)) : [await this.emptyDir()];
    return new OverlaySnapshot(lowerDirs, upper, work, dir);
  }

  /**
   * The entry at the root-relative `path` in the merged view of `lowers` (bottom → top), as the
   * container would see it (see `lookupPath`); undefined when absent.
   */
  async stat(lowers: readonly Digest[], path: string): Promise<FileHeader | undefined> {
    const layers: LayerView[] = [];
    for (const diffId of lowers)
      layers.push({ dir: this.layerDir(diffId), opaque: await this.opaqueDirs(diffId) });
    return lookupPath(layers, path);
  }

  /**
   * Removes what killed processes left: half-unpacked layers and snapshots whose owner pid is
   * gone. Mounts need no cleanup (they die with the helper's mount namespace). Returns the paths removed.
   */
  removeStale(): Promise<string[]> {
    return removeOrphans([
      { dir: join(this.root, 'layers'), pattern: /^\.unpack-(\d+)-/ },
      { dir: join(this.root, 'active'), pattern: /^s-(\d+)-/ },
      { dir: this.root, pattern: /^\.probe-(\d+)-/ },
      { dir: join(this.root, 'opaque'), pattern: RECORD_TEMP_PATTERN },
      { dir: join(this.root, 'digests'), pattern: RECORD_TEMP_PATTERN },
    ]);
  }

  /**
   * Removes unpacked layers not in `keep` (unpacked layers are a cache of the store's blobs) and
   * their opaque records; returns how many layers went.
   */
  async prune(keep: ReadonlySet<Digest>): Promise<number> {
    const keepHex = new Set([...keep].map(digestHex));
    // Records first: a record without its layer is harmless (same diffId, same content), but
    // this way none outlives its layer even when a prune is interrupted.
    for (const records of [join(this.root, 'opaque'), join(this.root, 'digests')]) {
      for (const name of await readdir(records).catch(() => [] as string[])) {
        const hex = /^([0-9a-f]{64})\.json$/.exec(name)?.[1];
        if (hex !== undefined && !keepHex.has(hex)) await rm(join(records, name), { force: true });
      }
    }
    let removed = 0;
    for (const name of await readdir(join(this.root, 'layers')).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{64}$/.test(name) || keepHex.has(name)) continue;
      await rm(join(this.root, 'layers', name), { recursive: true, force: true });
      this.opaque.delete(`sha256:${name}`);
      removed++;
    }
    return removed;
  }

  private async prepareCopy(lowers: readonly Digest[], dir: string): Promise<Snapshot> {
    const rootfs = join(dir, 'rootfs');
    const work = join(dir, 'work');
    try {
      await mkdir(rootfs, { mode: 0o755 });
      await chmod(rootfs, 0o755);
      await mkdir(work, { mode: 0o700 });
      const layers: LayerView[] = [];
      for (const diffId of lowers)
        layers.push({ dir: this.layerDir(diffId), opaque: await this.opaqueDirs(diffId) });
      await mergeLayers(layers, rootfs);
      return new CopySnapshot(rootfs, work, dir, await recordTree(rootfs));
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /**
   * The opaque directories of the unpacked layer `diffId` (root-relative, "." for its root). An
   * unpacked layer never changes, so the helper walk that finds them runs once per layer, not
   * once per process: its result is kept in `opaque/<hex>.json` (and in memory).
   */
  opaqueDirs(diffId: Digest): Promise<Set<string>> {
    let found = this.opaque.get(diffId);
    if (found === undefined) {
      found = this.loadOrWalkOpaque(diffId);
      found.catch(() => this.opaque.delete(diffId));
      this.opaque.set(diffId, found);
    }
    return found;
  }

  private async loadOrWalkOpaque(diffId: Digest): Promise<Set<string>> {
    const records = join(this.root, 'opaque');
    const name = `${digestHex(diffId)}.json`;
    const recorded = await loadOpaqueRecord(join(records, name));
    if (recorded !== undefined) return recorded;
    const walked = await opaqueDirs(this.layerDir(diffId));
    await saveOpaqueRecord(records, name, walked);
    return walked;
  }

  private async emptyDir(): Promise<string> {
    const dir = join(this.root, 'empty');
    await mkdir(dir, { recursive: true, mode: 0o755 });
    return dir;
  }
}
