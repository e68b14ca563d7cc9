import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunnerError } from './runner-error.js';

/** A socket that forwards every connection to an ssh agent; `close` stops it and removes it. */
export interface SshAgentProxy {
  readonly path: string;
  close(): Promise<void>;
}

/**
 * Listens on a new Unix socket (in a private temp dir) with owner `uid`/`gid` and `mode`, and
 * pipes each connection to `agentSocket` both ways (streamed, nothing kept). The step gets this
 * socket, never the agent's own: its owner and mode are the step's to choose, and the host's
 * socket path never reaches the container. Throws `BAD_MOUNT` when the agent is not reachable.
 */
export async function startSshAgentProxy(
  agentSocket: string,
  owner: { uid: number; gid: number; mode: number },
): Promise<SshAgentProxy> {
  await probe(agentSocket);
  const dir = await mkdtemp(join(tmpdir(), 'kiln-ssh-'));
  const path = join(dir, 'agent.sock');
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const agent = connect(agentSocket);
    open.add(client).add(agent);
    const end = (): void => {
      client.destroy();
      agent.destroy();
      open.delete(client);
      open.delete(agent);
    };
    client.on('error', end).on('close', end);
    agent.on('error', end).on('close', end);
    client.pipe(agent);
    agent.pipe(client);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    await chown(path, owner.uid, owner.gid);
    await chmod(path, owner.mode);
  } catch (cause) {
    server.close();
    await rm(dir, { recursive: true, force: true });
    throw new RunnerError('BAD_MOUNT', `cannot create the ssh agent socket for the step: ${String(cause)}`);
  }
  return {
    path,
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Fails early and clearly when nothing listens on the agent socket. */
function probe(agentSocket: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(agentSocket);
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('error', (err) =>
      reject(
        new RunnerError(
          'BAD_MOUNT',
          `ssh agent socket ${agentSocket} is not reachable: ${err.message}`,
          'is ssh-agent running? check SSH_AUTH_SOCK or --ssh',
          { cause: err },
        ),
      ),
    );
  });
}
