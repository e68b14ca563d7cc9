export { RunnerError, type RunnerErrorCode } from './runner-error.js';
export { helperPath } from './helper-path.js';
export type { Snapshot } from './snapshot.js';
export { Snapshotter } from './snapshotter.js';
export { runStep, type RunSpec, type StdioSinks, type StepResult } from './run-step.js';
