import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Mount, Run } from '@kiln/parser';
import type { RunMount } from '@kiln/runner-native';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import { contentDigest } from '../copy/content-digest.js';
import { MergedTree } from '@kiln/runner-native';
import { linkTree } from '../copy/link-tree.js';
import { planCopy, resolveSource } from '../copy/plan-copy.js';
import { contextTree, stageTree } from '../copy/source-tree.js';
import { expandInStage } from './expand-in-stage.js';
import { prepareLayers } from './prepare-layers.js';
import { sourceStage, type SourceStage } from './source-stage.js';
import { planSshMount } from './ssh-mount.js';
import type { StepContext } from './step-context.js';

/** The mounts of one RUN, what of them enters the cache key, and env vars filled from secrets. */
export interface PlannedMounts {
  readonly mounts: readonly RunMount[];
  /** Everything about the mounts that can change the step's result — never a secret's value. */
  readonly keyParts: readonly unknown[];
  /** `type=secret,env=NAME`: secret values for the step's environment (never in keys or history). */
  readonly secretEnv: ReadonlyMap<string, string>;
  /** The cache mounts' ids and their persistent directories. */
  readonly caches: readonly { readonly id: string; readonly dir: string }[];
  /** The target of the first ssh mount, for the step's SSH_AUTH_SOCK (derived from the key's parts). */
  readonly sshAuthSock?: string;
  /**
   * The mounts as the step gets them, made only when it runs: a bind `from=` another stage or
   * image is found there then (its source missing is an error of the step), a directory linked
   * together from its layers below the directory `scratch()` gives (see linkTree; the caller
   * removes that directory after the step). In `mounts` such a bind has no source yet.
   */
  readonly materialize: (scratch: () => Promise<string>) => Promise<readonly RunMount[]>;
}

const BYTES: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
};

/**
 * Turns `RUN --mount=` specs into runner mounts, as BuildKit means them: bind sources from the
 * build context or, with `from=`, from another stage or image (read-only unless `rw`, whose
 * writes are discarded), cache dirs persistent per id
 * (default: the target), tmpfs, and secrets given with `--secret id=…,src=…`. Relative targets
 * are taken from the working directory.
 */
export async function planRunMounts(
  ins: Run,
  at: { ctx: StepContext; vars: ReadonlyMap<string, string>; location: ErrorLocation; cwd: string },
): Promise<PlannedMounts> {
  const { ctx, location } = at;
  const expand = (w: string | undefined): string | undefined =>
    w === undefined ? undefined : expandInStage(w, at.vars, { ins, file: ctx.file, escape: ctx.escape });
  const fail = (message: string): BuilderError =>
    new BuilderError('INVALID_INSTRUCTION', message, { location });
  const mounts: RunMount[] = [];
  const keyParts: unknown[] = [];
  const secretEnv = new Map<string, string>();
  const caches: { id: string; dir: string }[] = [];
  let sshCount = 0;
  let sshAuthSock: string | undefined;
  const fromStages: {
    readonly index: number;
    readonly from: SourceStage;
    readonly source: string;
  }[] = [];
  for (const m of ins.mounts) {
    const rawTarget = expand(m.target);
    const target = rawTarget === undefined ? undefined : posix.resolve(at.cwd, rawTarget);
    if (m.from !== undefined && m.type !== 'secret' && m.type !== 'bind') {
      throw new BuilderError('UNSUPPORTED', `RUN --mount type=${m.type},from=… is not supported yet`, {
        location,
      });
    }
    switch (m.type) {
      case 'bind': {
        if (!target) throw fail('a bind mount needs target=');
        const source = posix.normalize(`/${expand(m.source) ?? '.'}`).slice(1);
        const fromRef = expand(m.from);
        if (fromRef !== undefined) {
          // Another stage's or image's files: its key stands for all of them, so nothing of them
          // is read unless the step runs (see materialize).
          const from = await sourceStage(fromRef, ctx, location);
          fromStages.push({ index: mounts.length, from, source });
          mounts.push({ type: 'bind', source: '', target, readwrite: !m.readOnly });
          keyParts.push({ type: 'bind', from: from.key, source, target, readwrite: !m.readOnly });
          break;
        }
        const tree = contextTree(ctx.contextDir, ctx.contextFilter);
        const entry = await resolveSource(tree, source);
        if (!entry) throw fail(`bind mount source "${source || '.'}" not found in the build context`);
        const contents = await contentDigest(
          await planCopy(tree, entry, '', { uid: 0, gid: 0 }),
          ctx.statCache,
        );
        mounts.push({ type: 'bind', source: entry.hostPath, target, readwrite: !m.readOnly });
        keyParts.push({ type: 'bind', source, target, readwrite: !m.readOnly, contents });
        break;
      }
      case 'cache': {
        if (!target) throw fail('a cache mount needs target=');
        const id = expand(m.id) ?? target;
        const sharing = m.sharing ?? 'shared';
        const owner = {
          uid: int(expand(m.uid), 10, 'uid'),
          gid: int(expand(m.gid), 10, 'gid'),
          mode: int(expand(m.mode), 8, 'mode'),
        };
        // One cache per id and owner, as BuildKit's (whose cache with uid/gid/mode starts from a
        // directory made with them): a step as another user does not get a cache it cannot write.
        const given = defined(owner);
        const instance = Object.keys(given).length === 0 ? id : `${id}\0${JSON.stringify(given)}`;
        const dir = await ctx.snapshotter.cacheDir(instance);
        caches.push({ id, dir });
        mounts.push({
          type: 'cache',
          source: dir,
          target,
          sharing,
          ...defined(owner),
        });
        keyParts.push({ type: 'cache', id, target, sharing, ...defined(owner) });
        break;
      }
      case 'tmpfs': {
        if (!target) throw fail('a tmpfs mount needs target=');
        const size = m.size === undefined ? undefined : bytes(expand(m.size) ?? '');
        mounts.push({ type: 'tmpfs', target, ...(size !== undefined ? { size } : {}) });
        keyParts.push({ type: 'tmpfs', target, size });
        break;
      }
      case 'secret': {
        const id = expand(m.id) ?? (target ? posix.basename(target) : undefined);
        if (!id) throw fail('a secret mount needs id= or target=');
        const src = ctx.secrets.get(id);
        if (src === undefined) {
          if (m.required)
            throw new BuilderError('INVALID_INSTRUCTION', `secret "${id}" is required but was not provided`, {
              location,
              hint: `pass --secret id=${id},src=FILE`,
            });
          continue;
        }
        const env = expand(m.env);
        if (env !== undefined) secretEnv.set(env, (await readFile(src, 'utf8')).replace(/\n$/, ''));
        if (env === undefined || target !== undefined) {
          const owner = {
            uid: int(expand(m.uid), 10, 'uid'),
            gid: int(expand(m.gid), 10, 'gid'),
            mode: int(expand(m.mode), 8, 'mode'),
          };
          mounts.push({ type: 'secret', id, source: src, ...(target ? { target } : {}), ...defined(owner) });
        }
        // Which secret is mounted where is part of the step; its content never is.
        keyParts.push({ type: 'secret', id, target, env });
        break;
      }
      case 'ssh': {
        const ssh = planSshMount(m, { index: sshCount++, target, agents: ctx.ssh, expand, location });
        if (ssh.mount !== undefined) mounts.push(ssh.mount);
        // BuildKit points SSH_AUTH_SOCK at the first ssh mount.
        if (ssh.mount !== undefined && sshAuthSock === undefined) sshAuthSock = ssh.mount.target;
        keyParts.push(ssh.keyPart);
        break;
      }
    }
  }
  const materialize = async (scratch: () => Promise<string>): Promise<readonly RunMount[]> => {
    if (fromStages.length === 0) return mounts;
    const out = [...mounts];
    for (const { index, from, source } of fromStages) {
      const tree = stageTree(await MergedTree.open(ctx.snapshotter, await prepareLayers(from.state, ctx)));
      const entry = await resolveSource(tree, source);
      if (!entry) throw fail(`bind mount source "/${source}" not found in ${from.label}`);
      // A file is bound as it is; a directory's layers are linked together first.
      let at = entry.hostPath;
      if (entry.header.type === 'directory') {
        at = join(await scratch(), `bind-from-${index}`);
        await linkTree(tree, entry, at);
      }
      out[index] = { ...mounts[index], source: at } as RunMount;
    }
    return out;
  };
  return { mounts, keyParts, secretEnv, caches, sshAuthSock, materialize };

  function int(v: string | undefined, radix: number, what: string): number | undefined {
    if (v === undefined) return undefined;
    const ok = radix === 8 ? /^[0-7]+$/.test(v) : /^\d+$/.test(v);
    if (!ok) throw fail(`invalid ${what} "${v}" in --mount`);
    return parseInt(v, radix);
  }

  function bytes(v: string): number {
    const m = /^(\d+)\s*([kmg]?b?)$/i.exec(v.trim());
    const unit = BYTES[(m?.[2] ?? '').toLowerCase()];
    if (!m || unit === undefined) throw fail(`invalid tmpfs size "${v}"`);
    return Number(m[1]) * unit;
  }
}

function defined<T extends Record<string, number | undefined>>(o: T): Partial<Record<keyof T, number>> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<
    Record<keyof T, number>
  >;
}

export type { Mount };
