import { posix } from 'node:path';
import type { ContainerConfig, HistoryEntry } from '@kiln/oci';
import type { Instruction } from '@kiln/parser';
import { BuilderError } from '../builder-error.js';
import { cacheKey } from '../cache/cache-key.js';
import { DEFAULT_SHELL, envMap, expansionVars, type StageState } from '../state/stage-state.js';
import { expandInStage, expandWordsInStage, locationOf } from './expand-in-stage.js';
import { isStopSignal } from './is-stop-signal.js';
import { parsePortSpecs } from './parse-port-specs.js';
import { commandArgs } from './format-command.js';
import { goHealthcheck, goList, goPortMap, goQuoteList } from './history-text.js';
import type { StepContext } from './step-context.js';

/** Instructions that change only the image config; applyMetadata handles exactly these. */
export type MetadataInstruction = Extract<
  Instruction,
  {
    kind:
      | 'env'
      | 'label'
      | 'arg'
      | 'workdir'
      | 'user'
      | 'stopsignal'
      | 'maintainer'
      | 'cmd'
      | 'entrypoint'
      | 'shell'
      | 'expose'
      | 'volume'
      | 'healthcheck'
      | 'onbuild';
  }
>;

export function isMetadataInstruction(ins: Instruction): ins is MetadataInstruction {
  return !['from', 'run', 'copy', 'add'].includes(ins.kind);
}

type Ctx = Pick<StepContext, 'file' | 'escape' | 'buildArgs' | 'globalArgs' | 'created'>;

/**
 * Applies a metadata instruction to a stage: pure, returns the new state with a history entry
 * (`empty_layer: true`; none for ONBUILD, as in BuildKit) and the next cache key.
 */
export function applyMetadata(state: StageState, ins: MetadataInstruction, ctx: Ctx): StageState {
  const vars = expansionVars(state);
  const at = { ins, file: ctx.file, escape: ctx.escape };
  const expand = (w: string): string => expandInStage(w, vars, at);
  const c = state.config.config;
  const shell = c.Shell ?? DEFAULT_SHELL;
  const history = (createdBy: string): HistoryEntry => ({
    created: ctx.created,
    created_by: createdBy,
    comment: 'buildkit.dockerfile.v0',
    empty_layer: true,
  });
  const next = (
    patch: Partial<ContainerConfig>,
    createdBy: string,
    extra: Partial<StageState> = {},
  ): StageState => ({
    ...state,
    ...extra,
    key: cacheKey(state.key, { step: createdBy, patch }),
    config: {
      ...state.config,
      config: { ...c, ...patch },
      history: [...state.config.history, history(createdBy)],
    },
  });

  switch (ins.kind) {
    case 'env': {
      const env = envMap(state.config);
      // Every value is expanded with the variables as they were before this instruction.
      const pairs = ins.pairs.map((p) => [expand(p.key), expand(p.value)] as const);
      for (const [k, v] of pairs) env.set(k, v);
      const list = [...env].map(([k, v]) => `${k}=${v}`);
      const argsAfterEnv = new Set(state.argsAfterEnv);
      for (const [k] of pairs) argsAfterEnv.delete(k);
      return next({ Env: list }, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, { argsAfterEnv });
    }
    case 'label': {
      const pairs = ins.pairs.map((p) => [expand(p.key), expand(p.value)] as const);
      return next(
        { Labels: { ...c.Labels, ...Object.fromEntries(pairs) } },
        `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`,
      );
    }
    case 'arg': {
      const args = new Map(state.args);
      for (const a of ins.args) {
        const value =
          ctx.buildArgs.get(a.name) ??
          (a.defaultValue !== undefined ? expand(a.defaultValue) : undefined) ??
          ctx.globalArgs.get(a.name);
        if (value !== undefined) args.set(a.name, value);
      }
      const shown = ins.args
        .map((a) => (args.has(a.name) ? `${a.name}=${args.get(a.name)}` : a.name))
        .join(' ');
      const argsAfterEnv = new Set(state.argsAfterEnv);
      for (const a of ins.args) if (args.has(a.name)) argsAfterEnv.add(a.name);
      const argNames = [...new Set([...(state.argNames ?? []), ...ins.args.map((a) => a.name)])];
      // BuildKit's history shows each ARG with the value it resolved to (empty_layer).
      return next({}, `ARG ${shown}`, { args, argsAfterEnv, argNames });
    }
    case 'workdir': {
      const dir = posix.resolve(c.WorkingDir || '/', expand(ins.value));
      return next({ WorkingDir: dir }, `WORKDIR ${dir}`);
    }
    case 'user': {
      const user = expand(ins.value);
      return next({ User: user }, `USER ${user}`);
    }
    case 'stopsignal': {
      const sig = expand(ins.value);
      if (!isStopSignal(sig)) {
        throw new BuilderError('INVALID_INSTRUCTION', `invalid signal "${sig}" in STOPSIGNAL`, {
          location: locationOf(ins, ctx.file),
          hint: 'use a signal name (SIGTERM, TERM, sigkill, SIGRTMIN+3) or a signal number',
        });
      }
      return next({ StopSignal: sig }, `STOPSIGNAL ${sig}`);
    }
    case 'maintainer': {
      const s = next({}, `MAINTAINER ${ins.value}`);
      return { ...s, config: { ...s.config, author: ins.value } };
    }
    case 'cmd': {
      const cmd = commandArgs(ins.command, shell);
      return next({ Cmd: cmd }, `CMD ${goQuoteList(cmd)}`, { cmdSet: true });
    }
    case 'entrypoint': {
      const ep = commandArgs(ins.command, shell);
      const patch: Partial<ContainerConfig> = state.cmdSet
        ? { Entrypoint: ep }
        : { Entrypoint: ep, Cmd: null };
      return next(patch, `ENTRYPOINT ${goQuoteList(ep)}`);
    }
    case 'shell':
      return next({ Shell: [...ins.args] }, `SHELL ${goList(ins.args)}`);
    case 'expose': {
      // Split into words as BuildKit does, so `EXPOSE ""` or an empty $VAR adds no port.
      const parsed = parsePortSpecs(ins.values.flatMap((w) => expandWordsInStage(w, vars, at)));
      if (!parsed.ok) {
        throw new BuilderError('INVALID_INSTRUCTION', `EXPOSE: ${parsed.reason}`, {
          location: locationOf(ins, ctx.file),
          hint: 'EXPOSE takes PORT[/PROTOCOL] or LOW-HIGH[/PROTOCOL], with tcp, udp or sctp',
        });
      }
      const { ports } = parsed;
      const patch: Partial<ContainerConfig> =
        ports.length === 0
          ? {}
          : { ExposedPorts: { ...c.ExposedPorts, ...Object.fromEntries(ports.map((p) => [p, {}])) } };
      return next(patch, `EXPOSE ${goPortMap(ports)}`);
    }
    case 'volume': {
      const vols = ins.values.map(expand);
      return next(
        { Volumes: { ...c.Volumes, ...Object.fromEntries(vols.map((v) => [v, {}])) } },
        `VOLUME ${goList(vols)}`,
      );
    }
    case 'healthcheck': {
      if (ins.test.type === 'none') {
        const none = { Test: ['NONE'] };
        return next({ Healthcheck: none }, `HEALTHCHECK ${goHealthcheck(none)}`);
      }
      const cmd = ins.test.command;
      const test = cmd.form === 'exec' ? ['CMD', ...cmd.args] : ['CMD-SHELL', cmd.text];
      const health = {
        Test: test,
        ...(ins.interval !== undefined ? { Interval: ins.interval } : {}),
        ...(ins.timeout !== undefined ? { Timeout: ins.timeout } : {}),
        ...(ins.startPeriod !== undefined ? { StartPeriod: ins.startPeriod } : {}),
        ...(ins.startInterval !== undefined ? { StartInterval: ins.startInterval } : {}),
        ...(ins.retries !== undefined ? { Retries: ins.retries } : {}),
      };
      return next({ Healthcheck: health }, `HEALTHCHECK ${goHealthcheck(health)}`);
    }
    case 'onbuild': {
      // Stored as written after the keyword; it runs (and is parsed again) in the child build.
      const trigger = ins.source.replace(/^\s*onbuild\s+/i, '');
      const s = next({ OnBuild: [...(c.OnBuild ?? []), trigger] }, `ONBUILD ${trigger}`);
      // BuildKit records no history entry for ONBUILD (the text still keys the cache).
      return { ...s, config: { ...s.config, history: state.config.history } };
    }
  }
}
