import { runHelper } from './run-helper.js';

export type LimitController = 'memory' | 'pids' | 'cpu';

/** Whether `StepLimits` can use a controller here, and if not, why. */
export type ControllerSupport =
  | { readonly available: true; readonly version: 'v1' | 'v2'; readonly dir: string }
  | { readonly available: false; readonly reason: string };

/**
 * Asks the helper which cgroup controllers per-step limits can use on this host (the cgroup
 * kiln runs in, v1 or v2 per controller). Read-only: creates nothing.
 */
export async function probeLimits(): Promise<Record<LimitController, ControllerSupport>> {
  const text = (await runHelper(['probe-cgroups'])).toString('utf8');
  const support: Record<LimitController, ControllerSupport> = {
    memory: { available: false, reason: 'not reported by kiln-helper' },
    pids: { available: false, reason: 'not reported by kiln-helper' },
    cpu: { available: false, reason: 'not reported by kiln-helper' },
  };
  for (const line of text.split('\n')) {
    const m = /^(memory|pids|cpu) (?:(v1|v2) (.*)|unavailable: (.*))$/.exec(line);
    if (m === null) continue;
    const name = m[1] as LimitController;
    support[name] =
      m[2] !== undefined
        ? { available: true, version: m[2] as 'v1' | 'v2', dir: m[3] ?? '' }
        : { available: false, reason: m[4] ?? '' };
  }
  return support;
}
