import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

/** See fault-proxy-server.mjs for what each fault does. */
export type FaultKind = 'reset' | 'reset-mid' | '500' | '503' | '429' | 'stall' | 'stall-mid' | '401';

export interface FaultProxyConfig {
  /** `127.0.0.1:PORT` of the registry. */
  readonly target: string;
  readonly seed: number;
  /** Chance per request of a fault. */
  readonly rate: number;
  readonly kinds?: readonly FaultKind[];
  /** Only requests whose `METHOD path` matches this regex get faults. */
  readonly only?: string;
  readonly maxFaults?: number;
  /** How long a stalled exchange is held before the proxy drops it (default 5 s). */
  readonly stallMs?: number;
}

export interface FaultStats {
  readonly total: number;
  readonly byKind: Readonly<Record<string, number>>;
  readonly requests: number;
}

export interface FaultProxy {
  /** `127.0.0.1:PORT` of the proxy: use it as the registry host. */
  readonly host: string;
  stats(): Promise<FaultStats>;
  stop(): Promise<void>;
}

const script = fileURLToPath(new URL('./fault-proxy-server.mjs', import.meta.url));

/**
 * Starts the fault-injecting proxy as a child process (under `timeout`, so it dies within
 * 10 minutes even if `stop` is never called) and waits until it listens.
 */
export async function startFaultProxy(config: FaultProxyConfig): Promise<FaultProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-fault-proxy-'));
  const portFile = join(dir, 'port');
  const child = spawn('timeout', ['600', process.execPath, script, JSON.stringify({ ...config, portFile })], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    if (existsSync(portFile) && readFileSync(portFile, 'utf8') !== '') {
      const host = `127.0.0.1:${readFileSync(portFile, 'utf8')}`;
      return {
        host,
        stats: async () => (await (await fetch(`http://${host}/_faults`)).json()) as FaultStats,
        stop,
      };
    }
    await sleep(50);
  }
  await stop();
  throw new Error('the fault proxy did not start');
}
