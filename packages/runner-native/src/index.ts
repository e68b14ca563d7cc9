export { RunnerError, type RunnerErrorCode } from './runner-error.js';
export { helperPath } from './helper-path.js';
export type { Snapshot, OverlaySnapshotLayout, CopySnapshotLayout } from './snapshot.js';
export { Snapshotter, type SnapshotterKind, type SnapshotterOptions } from './snapshotter.js';
export type { RunMount, BindMount, CacheMount, TmpfsMount, SecretMount } from './run-mount.js';
export type { Rlimit, RlimitName, Rlimits } from './rlimits.js';
export { runStep, type RunSpec, type StdioSinks, type StepResult } from './run-step.js';
export { MergedTree } from './merged-tree.js';
export type { LocatedEntry } from './lookup-path.js';
