import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuilderError } from '../builder-error.js';

/** A private ssh-agent holding some keys; `stop` ends it and removes its socket. */
export interface KeyAgent {
  readonly socket: string;
  stop(): Promise<void>;
}

/**
 * Starts `ssh-agent` (OpenSSH) on a socket in a private temp dir and loads `keys` with
 * `ssh-add`, for `--ssh ID=KEYFILE`: the step then talks to an agent, never sees the key file.
 * Throws `INVALID_ARGUMENT` when OpenSSH's client tools are missing or a key cannot be loaded
 * (a passphrase-protected key needs an agent of your own).
 */
export async function startKeyAgent(keys: readonly string[]): Promise<KeyAgent> {
  // Loaded here: every command's start imports this module, few builds use --ssh KEYFILE.
  const { spawn, spawnSync } = await import('node:child_process');
  const dir = await mkdtemp(join(tmpdir(), 'kiln-agent-'));
  const socket = join(dir, 'agent.sock');
  // -D: stays in the foreground as our child, so it ends with us.
  const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stop = async (): Promise<void> => {
    if (agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((resolve) => agent.once('exit', resolve));
      agent.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      agent.once('error', reject);
      agent.once('exit', (code) => reject(new Error(`ssh-agent exited with ${code ?? 'a signal'}`)));
      // The agent does not say when its socket listens: ask it until it answers.
      const started = Date.now();
      const poll = (): void => {
        const r = spawnSync('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
        // 1: the agent answers and has no keys yet; 2: not reachable (yet).
        if (r.status === 0 || r.status === 1) resolve();
        else if (Date.now() - started > 10_000) reject(new Error('ssh-agent did not start listening'));
        else setTimeout(poll, 20);
      };
      poll();
    });
    for (const key of keys) {
      const r = spawnSync('ssh-add', [key], {
        env: { SSH_AUTH_SOCK: socket, SSH_ASKPASS_REQUIRE: 'never' },
        stdio: ['ignore', 'ignore', 'pipe'],
        encoding: 'utf8',
      });
      if (r.error !== undefined || r.status !== 0)
        throw new Error(`ssh-add ${key}: ${r.error?.message ?? r.stderr.trim()}`);
    }
  } catch (cause) {
    await stop();
    throw new BuilderError('INVALID_ARGUMENT', `--ssh: cannot load keys into an agent: ${String(cause)}`, {
      hint: 'needs OpenSSH (ssh-agent, ssh-add); for a key with a passphrase, use your own agent: --ssh default',
      cause,
    });
  }
  return { socket, stop };
}
