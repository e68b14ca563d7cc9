import { Writable } from 'node:stream';
import { chompHeredoc, type Run } from '@kiln/parser';
import { rlimitArgs, runStep } from '@kiln/runner-native';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import { scratchDir } from '../copy/add-sources.js';
import { PROXY_ARGS } from '../plan/predefined-args.js';
import { planRunMounts } from './run-mounts.js';
import { cacheKey } from '../cache/cache-key.js';
import { DEFAULT_PATH, DEFAULT_SHELL, expansionVars, type StageState } from '../state/stage-state.js';
import { applyLayerStep } from './apply-layer-step.js';
import { locationOf } from './expand-in-stage.js';
import { commandArgs } from './format-command.js';
import { prepareLayers } from './prepare-layers.js';
import { runFailure } from './run-failure.js';
import type { StepContext } from './step-context.js';
import { runHistoryText } from './history-text.js';

const OUTPUT_TAIL_BYTES = 8192;

/** RUN: the command in a fresh sandbox on an overlay of the stage's layers; its changes become a layer. */
export async function runInstruction(
  state: StageState,
  ins: Run,
  ctx: StepContext,
  id: number,
): Promise<StageState> {
  const location = locationOf(ins, ctx.file);
  // The parser accepts these; running without them would silently change what the step does.
  if (ins.security !== undefined) {
    throw new BuilderError('UNSUPPORTED', 'RUN --security is not supported yet', { location });
  }
  const c = state.config.config;
  const args = runArgs(ins, c.Shell ?? DEFAULT_SHELL, location);
  // ARGs are in the environment of RUN (not of the image); ENV wins over an ARG of the same name
  // declared before it (see expansionVars).
  const env = expansionVars(state);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  const envList = [...env].map(([k, v]) => `${k}=${v}`);
  const network = ins.network === undefined || ins.network === 'default' ? ctx.defaultNetwork : ins.network;
  if (network !== 'host' && network !== 'none') {
    throw new BuilderError('UNSUPPORTED', `RUN --network=${network} is not supported (use host or none)`, {
      location,
    });
  }
  const cwd = c.WorkingDir || '/';
  const user = c.User || undefined;
  const planned = await planRunMounts(ins, { ctx, vars: env, location, cwd });
  for (const c of planned.caches) ctx.cacheMounts?.note(c.id, c.dir);
  const key = cacheKey(state.key, {
    step: 'RUN',
    args,
    env: [...envList].sort(),
    cwd,
    user,
    network,
    mounts: planned.keyParts,
    // Absent when none, so that keys of builds without --add-host stay as they were.
    ...(ctx.extraHosts ? { extraHosts: ctx.extraHosts } : {}),
    // The helper's arguments: canonical (sorted, "unlimited" spelled out, as JSON cannot).
    ...(ctx.rlimits ? { rlimits: rlimitArgs(ctx.rlimits) } : {}),
  });
  // Proxy settings and secret values reach the process only: never the key, the history or the image.
  const proxies = PROXY_ARGS.filter((n) => !env.has(n) && ctx.buildArgs.has(n)).map(
    (n) => `${n}=${ctx.buildArgs.get(n)}`,
  );
  const stepEnv = [...envList, ...proxies, ...[...planned.secretEnv].map(([k, v]) => `${k}=${v}`)];
  if (planned.sshAuthSock !== undefined) stepEnv.push(`SSH_AUTH_SOCK=${planned.sshAuthSock}`);
  // The stage's declared ARGs with the values the step sees (BuildKit's history shows them).
  const declared = (state.argNames ?? []).map((n) => [n, env.get(n) ?? ''] as const);
  const createdBy = `${runHistoryText(args, declared)} # buildkit`;

  return applyLayerStep(state, ctx, {
    id,
    key,
    createdBy,
    explain: {
      slot: `${ctx.stageIndex ?? 0}:${ins.range.start.line}`,
      inputs: {
        parent: state.key,
        command: args,
        env: [...envList].sort(),
        workdir: cwd,
        user,
        network,
        mounts: planned.keyParts,
      },
    },
    produce: async (write) => {
      const lowers = await prepareLayers(state, ctx);
      for (const c of planned.caches) await ctx.cacheMounts?.seed(c.id, c.dir, ctx.store, ctx.signal);
      const snapshot = await ctx.snapshotter.prepare(lowers);
      let scratch: Promise<{ path: string; remove: () => Promise<void> }> | undefined;
      try {
        const mounts = await planned.materialize(
          async () => (await (scratch ??= scratchDir(ctx.store.root))).path,
        );
        const tail = new OutputTail(OUTPUT_TAIL_BYTES);
        const sink = (stream: 'stdout' | 'stderr'): Writable =>
          new Writable({
            write(chunk: Buffer, _enc, done) {
              tail.push(chunk);
              ctx.reporter.event({ type: 'step-log', id, stream, text: chunk.toString('utf8') });
              done();
            },
          });
        const result = await runStep(
          {
            snapshot,
            args,
            env: stepEnv,
            cwd,
            user,
            network,
            hostname: 'kiln',
            ...(ctx.extraHosts ? { extraHosts: ctx.extraHosts } : {}),
            ...(ctx.rlimits ? { rlimits: ctx.rlimits } : {}),
            mounts,
            limits: ctx.stepLimits,
            timeout: ctx.stepTimeout,
          },
          { stdout: sink('stdout'), stderr: sink('stderr') },
          ctx.signal,
        );
        if (ctx.signal.aborted) throw new BuilderError('CANCELLED', 'build cancelled');
        if (result.exitCode !== 0) {
          const { how, hint } = runFailure(result, { timeout: ctx.stepTimeout, limits: ctx.stepLimits });
          throw new BuilderError(
            'RUN_FAILED',
            `process "${args.join(' ')}" did not complete successfully: ${how}`,
            { location, detail: tail.text(), ...(hint !== undefined ? { hint } : {}) },
          );
        }
        const layer = await write(snapshot.changes());
        // The upper dir is that layer unpacked, unless the tar clamped its mtimes: keep it as the
        // layer's snapshot instead of unpacking the blob again for the next step.
        if (layer && ctx.sourceDateEpoch === undefined)
          await ctx.snapshotter.adoptUpper(snapshot, layer.diffId);
      } finally {
        await snapshot.release();
        if (scratch) await (await scratch).remove();
      }
    },
  });
}

/**
 * The argv of a RUN. Heredocs follow BuildKit: a RUN that is only `<<EOF` runs the body as a
 * shell script; otherwise the bodies are given to the shell after the command line, which then
 * feeds them to the commands (`cat <<EOF > file`), honouring `<<-` and quoted delimiters itself.
 */
function runArgs(ins: Run, shell: readonly string[], location: ErrorLocation): string[] {
  if (ins.heredocs.length === 0) return commandArgs(ins.command, shell);
  if (ins.command.form !== 'shell')
    throw new BuilderError('INVALID_INSTRUCTION', 'heredocs need the shell form of RUN', { location });
  const only = ins.heredocs.length === 1 && /^<<-?\s*["']?[^\s"']+["']?$/.test(ins.command.text.trim());
  const first = ins.heredocs[0];
  if (only && first) {
    const body = first.chomp ? chompHeredoc(first.content) : first.content;
    if (body.startsWith('#!')) {
      throw new BuilderError('UNSUPPORTED', 'RUN heredocs with a #! interpreter line are not supported yet', {
        location,
      });
    }
    return [...shell, body];
  }
  const bodies = ins.heredocs.map((h) => `${h.content}${h.name}\n`).join('');
  return [...shell, `${ins.command.text}\n${bodies}`];
}

/** Keeps the last bytes of a step's output for the error message. */
class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.max && this.chunks.length > 1) {
      this.size -= this.chunks.shift()?.length ?? 0;
    }
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}
