import type { HistoryEntry, ImageConfig } from '@kiln/oci';
import type { Layer } from '@kiln/layer-store';

/**
 * Everything one stage has built so far. Immutable: each step returns a new state.
 * `key` is the cache-key chain: it changes whenever anything that can change the result does.
 */
export interface StageState {
  readonly config: ImageConfig;
  readonly layers: readonly Layer[];
  readonly key: string;
  /**
   * ARGs in scope (with their values): those declared in this stage and, for a stage built
   * `FROM <stage>`, those of that stage. Visible to expansion and to RUN's env, never the image's.
   */
  readonly args: ReadonlyMap<string, string>;
  /**
   * ARGs declared after the last ENV of the same name (inherited ones included): for the build
   * they win over that ENV, as in BuildKit, where each declaration sets the build's variable in
   * turn; the image's Env keeps the ENV value. An ENV of the name takes it out again.
   */
  readonly argsAfterEnv?: ReadonlySet<string>;
  /**
   * Names of the ARGs declared in scope, with or without a value, in the order of their first
   * declaration: a RUN's history text lists them (`|N NAME=value …`), as BuildKit's does.
   */
  readonly argNames?: readonly string[];
  /**
   * Cache keys of the layer steps (RUN, COPY, ADD) built on top of the base image, in order,
   * including those of a parent stage (what `--cache-to mode=min` exports for the final stage).
   */
  readonly steps?: readonly string[];
  /** Whether CMD was set in this stage (an ENTRYPOINT clears only an inherited CMD). */
  readonly cmdSet: boolean;
  /** Layers and history entries of the stage's base (image or earlier stage), for `--squash`. */
  readonly base?: { readonly layers: number; readonly history: number };
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_SHELL: readonly string[] = ['/bin/sh', '-c'];

/** The image's Env as an ordered map (later entries win, as in Docker). */
export function envMap(config: ImageConfig): Map<string, string> {
  const env = new Map<string, string>();
  for (const kv of config.config.Env ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return env;
}

/**
 * The state with `PATH=DEFAULT_PATH` appended to the image's Env when the base sets no PATH, as
 * BuildKit does for every stage built on an image or on scratch: the stage's instructions then
 * see it (`ENV PATH=/opt/bin:$PATH` keeps the default) and the built image carries it.
 */
export function withDefaultPath(state: StageState): StageState {
  if (envMap(state.config).has('PATH')) return state;
  const Env = [...(state.config.config.Env ?? []), `PATH=${DEFAULT_PATH}`];
  return { ...state, config: { ...state.config, config: { ...state.config.config, Env } } };
}

/**
 * Variables of the build in a stage, for word expansion and RUN's environment: its ARGs,
 * overridden by its ENV, overridden by the ARGs declared after an ENV of their name.
 */
export function expansionVars(state: StageState): Map<string, string> {
  const vars = new Map([...state.args, ...envMap(state.config)]);
  for (const name of state.argsAfterEnv ?? []) {
    const value = state.args.get(name);
    if (value !== undefined) vars.set(name, value);
  }
  return vars;
}

/** Returns a new state with the config patched and a history entry appended. */
export function withConfig(
  state: StageState,
  patch: Partial<ImageConfig['config']>,
  history: HistoryEntry,
  key: string,
): StageState {
  return {
    ...state,
    key,
    config: {
      ...state.config,
      config: { ...state.config.config, ...patch },
      history: [...state.config.history, history],
    },
  };
}
