import type { LayerStore } from '@kiln/layer-store';
import type { Snapshotter } from '@kiln/runner-native';
import type { Reporter } from '../progress/reporter.js';

/** What every step may use: the stores, where to report, and build-wide settings. Read-only. */
export interface StepContext {
  readonly store: LayerStore;
  readonly snapshotter: Snapshotter;
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
  readonly contextDir: string;
  /** The Dockerfile's name in diagnostics. */
  readonly file: string;
  readonly escape: string;
  /** `--build-arg` values. */
  readonly buildArgs: ReadonlyMap<string, string>;
  /** ARGs declared before the first FROM, with their values. */
  readonly globalArgs: ReadonlyMap<string, string | undefined>;
  readonly noCache: boolean;
  /** ISO time written into history and `created`. */
  readonly created: string;
  readonly sourceDateEpoch?: number;
  readonly defaultNetwork: 'host' | 'none';
}
