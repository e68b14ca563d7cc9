export { RunnerError, type RunnerErrorCode } from './runner-error.js';
export { helperPath } from './helper-path.js';
export type { Snapshot, OverlaySnapshotLayout, CopySnapshotLayout } from './snapshot.js';
export {
  Snapshotter,
  type SnapshotterKind,
  type SnapshotterOptions,
  type StagedLayer,
  type ReusableFile,
} from './snapshotter.js';
export type {
  RunMount,
  BindMount,
  CacheMount,
  TmpfsMount,
  SecretMount,
  VolumeMount,
  SshMount,
} from './run-mount.js';
export { RLIMIT_NAMES, rlimitArgs, type Rlimit, type RlimitName, type Rlimits } from './rlimits.js';
export type { StepLimits } from './step-limits.js';
export { probeLimits, type LimitController, type ControllerSupport } from './probe-limits.js';
export { runStep, type ExtraHost, type RunSpec, type StdioSinks, type StepResult } from './run-step.js';
export {
  startContainer,
  type ContainerSpec,
  type ContainerStdio,
  type ContainerProcess,
} from './start-container.js';
export { MergedTree } from './merged-tree.js';
export { readXattrs } from './read-xattrs.js';
export { statPaths, type PathStat } from './stat-paths.js';
export { treeStamp, type TreeReads, type TreeStamp } from './tree-stamp.js';
export { hashFiles } from './hash-files.js';
export { linkFiles } from './link-files.js';
export { extractLayer } from './extract-layer.js';
export type { LocatedEntry } from './lookup-path.js';
export { mergeRootfs } from './merge-rootfs.js';
export { squashChanges } from './squash-changes.js';
export { rootlessIdMaps, type RootlessIdMaps, type RootlessIdMapsOptions } from './rootless-id-maps.js';
export { runInUserNamespace, type UserNamespaceRun } from './run-in-user-namespace.js';
export { userNamespace, type UserNamespace, type IdRange } from './user-namespace.js';
