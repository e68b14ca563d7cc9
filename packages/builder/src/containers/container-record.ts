import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '@kiln/oci';
import type { RunMount } from '@kiln/runner-native';

/** What `kiln run` decided for a container; written once, before it starts. */
export interface ContainerConfig {
  /** 64 hex digits; `ps` shows the first 12. */
  readonly id: string;
  readonly name: string;
  /** The image as the user named it, and the manifest it resolved to. */
  readonly image: string;
  readonly imageDigest: Digest;
  /** The image's diffIDs, bottom → top: the lowers of the container's snapshot. */
  readonly layers: readonly Digest[];
  readonly created: string;
  /** `--rm`: everything of the container goes when it exits. */
  readonly autoRemove: boolean;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly env: readonly string[];
  readonly user: string;
  readonly workingDir: string;
  readonly hostname: string;
  readonly network: 'host' | 'none';
  readonly tty: boolean;
  readonly mounts: readonly RunMount[];
  /** Ids of the anonymous volumes (under `kiln/volumes/`) made for the image's VOLUMEs. */
  readonly anonymousVolumes: readonly string[];
  readonly stopSignal: string;
}

/** Where a container is in its life; rewritten (atomically) at start and at exit. */
export interface ContainerStatus {
  readonly state: 'created' | 'running' | 'exited';
  /** The `kiln run` process that owns it while running, and that process's start time (pid reuse). */
  readonly pid?: number;
  readonly pidStart?: string;
  readonly exitCode?: number;
  readonly startedAt?: string;
  readonly finishedAt?: string;
}

export function containersDir(root: string): string {
  return join(root, 'kiln', 'containers');
}

export function volumesDir(root: string): string {
  return join(root, 'kiln', 'volumes');
}

/** `<root>/kiln/containers/<id>`: config.json, status.json, and the snapshot's upper/ and work/. */
export function containerDir(root: string, id: string): string {
  return join(containersDir(root), id);
}

export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

export async function writeContainerConfig(root: string, config: ContainerConfig): Promise<void> {
  await mkdir(containerDir(root, config.id), { recursive: true, mode: 0o700 });
  await writeJsonAtomic(join(containerDir(root, config.id), 'config.json'), config);
}

export async function writeContainerStatus(root: string, id: string, status: ContainerStatus): Promise<void> {
  await writeJsonAtomic(join(containerDir(root, id), 'status.json'), status);
}

/** A container with its status, as `ps` shows it. */
export interface ContainerEntry {
  readonly config: ContainerConfig;
  readonly status: ContainerStatus;
  /** Running: its owning process is alive. A "running" status whose owner died is not live (killed kiln). */
  readonly live: boolean;
}

/**
 * Every container of the store (directories without a readable config are skipped), oldest
 * first. A `--rm` container whose `kiln run` was killed is left out, and removed on the way
 * (with its anonymous volumes) unless `reap` is false (`kiln du`, which only reads): nothing
 * else would remove it, and nobody can use it any more.
 */
export async function listContainers(
  root: string,
  { reap = true }: { readonly reap?: boolean } = {},
): Promise<ContainerEntry[]> {
  const entries: ContainerEntry[] = [];
  for (const id of await readdir(containersDir(root)).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{64}$/.test(id)) continue;
    const entry = await readContainer(root, id).catch(() => undefined);
    if (entry?.config.autoRemove === true && entry.status.state === 'running' && !entry.live) {
      if (!reap) continue;
      for (const v of entry.config.anonymousVolumes)
        await rm(join(volumesDir(root), v), { recursive: true, force: true });
      await rm(containerDir(root, id), { recursive: true, force: true });
    } else if (entry) entries.push(entry);
  }
  return entries.sort((a, b) => a.config.created.localeCompare(b.config.created));
}

export async function readContainer(root: string, id: string): Promise<ContainerEntry> {
  const dir = containerDir(root, id);
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as ContainerConfig;
  const status = JSON.parse(
    await readFile(join(dir, 'status.json'), 'utf8').catch(() => '{"state":"created"}'),
  ) as ContainerStatus;
  const live =
    status.state === 'running' &&
    status.pid !== undefined &&
    (await processStartTime(status.pid)) === status.pidStart;
  return { config, status, live };
}

/** Field 22 of /proc/PID/stat (start time in clock ticks), undefined when PID is gone. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}
