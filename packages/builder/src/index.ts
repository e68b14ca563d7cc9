export { importImage } from './import-image.js';
export { build, type BuildOptions, type BuildResult } from './build.js';
export { BuilderError, type BuilderErrorCode, type ErrorLocation } from './builder-error.js';
export { plan, type BuildGraph, type StagePlan, type PlanOptions } from './plan/plan.js';
export { cacheKey } from './cache/cache-key.js';
export { parseOutputSpec, type OutputSpec } from './outputs/output-spec.js';
export { silentReporter, type BuildEvent, type Reporter } from './progress/reporter.js';
export { prune, type PruneResult } from './prune.js';
