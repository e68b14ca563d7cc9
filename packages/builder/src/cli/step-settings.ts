import type { StepLimits } from '@kiln/runner-native';
import { BuilderError } from '../builder-error.js';
import { startKeyAgent, type KeyAgent } from './key-agent.js';
import { parseDuration } from './parse-duration.js';
import type { SshSource } from './parse-ssh.js';
import { parseSize } from './parse-size.js';

/** `--memory`, `--pids-limit`, `--cpus` and `--step-timeout` as build options (absent flags stay absent). */
export function stepSettings(flags: {
  readonly memory?: string;
  readonly pidsLimit?: number;
  readonly cpus?: number;
  readonly stepTimeout?: string;
}): { stepLimits?: StepLimits; stepTimeout?: number } {
  const limits: { memory?: number; pids?: number; cpus?: number } = {};
  if (flags.memory !== undefined) limits.memory = parseSize(flags.memory);
  if (flags.pidsLimit !== undefined) {
    if (!Number.isSafeInteger(flags.pidsLimit) || flags.pidsLimit <= 0)
      throw new BuilderError(
        'INVALID_ARGUMENT',
        `invalid --pids-limit ${flags.pidsLimit}: expected a positive count`,
      );
    limits.pids = flags.pidsLimit;
  }
  if (flags.cpus !== undefined) {
    if (!Number.isFinite(flags.cpus) || flags.cpus < 0.001)
      throw new BuilderError(
        'INVALID_ARGUMENT',
        `invalid --cpus ${flags.cpus}: expected a number of cores, e.g. 1.5`,
      );
    limits.cpus = flags.cpus;
  }
  if (limits.memory !== undefined && limits.memory <= 0)
    throw new BuilderError(
      'INVALID_ARGUMENT',
      `invalid --memory ${flags.memory ?? ''}: expected a size, e.g. 512m`,
    );
  const timeout = flags.stepTimeout === undefined ? undefined : parseDuration(flags.stepTimeout);
  if (timeout !== undefined && timeout <= 0)
    throw new BuilderError('INVALID_ARGUMENT', `invalid --step-timeout ${flags.stepTimeout ?? ''}`);
  return {
    ...(Object.keys(limits).length > 0 ? { stepLimits: limits } : {}),
    ...(timeout !== undefined ? { stepTimeout: timeout } : {}),
  };
}

/**
 * The agent socket of every `--ssh` id, starting a private agent for ids given key files.
 * `close` stops those agents; call it once the build is over.
 */
export async function openSshAgents(
  sources: ReadonlyMap<string, SshSource>,
): Promise<{ agents: Map<string, string>; close(): Promise<void> }> {
  const agents = new Map<string, string>();
  const started: KeyAgent[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(started.map((a) => a.stop()));
  };
  try {
    for (const [id, source] of sources) {
      if (source.kind === 'socket') agents.set(id, source.path);
      else {
        const agent = await startKeyAgent(source.paths);
        started.push(agent);
        agents.set(id, agent.socket);
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { agents, close };
}
