import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { CertificateFiles } from './test-pki.js';

/** One request the token server answered, as it logged it. */
export interface TokenRequest {
  readonly method: 'GET' | 'POST';
  readonly scopes: readonly string[];
  readonly service: readonly string[];
  readonly user?: string;
  readonly grantType?: string;
  /** Why it refused, when it did. */
  readonly refused?: string;
}

export interface TokenServer {
  /** `http://127.0.0.1:PORT/token` */
  readonly realm: string;
  readonly issuer: string;
  readonly service: string;
  requests(): TokenRequest[];
  stop(): Promise<void>;
}

export interface TokenServerOptions {
  /** The signing key and its certificate (the registry's rootcertbundle). */
  readonly signer: CertificateFiles;
  readonly users: Readonly<Record<string, string>>;
  /** Refresh tokens (docker's identitytoken) → user. */
  readonly refreshTokens?: Readonly<Record<string, string>>;
  /** How long a JWT lives at the registry (default 300 s). */
  readonly lifetimeSeconds?: number;
  /** What clients are told (`expires_in`, default 300). */
  readonly expiresIn?: number;
}

const script = join(fileURLToPath(new URL('.', import.meta.url)), 'serve-tokens.mjs');

/**
 * Starts test/support/serve-tokens.mjs in a child process on a loopback port (it exits by itself
 * after 10 minutes) and waits for it to listen.
 */
export async function startTokenServer(dir: string, opts: TokenServerOptions): Promise<TokenServer> {
  const log = join(dir, 'token-requests.jsonl');
  const portFile = join(dir, 'token-port');
  const config = join(dir, 'token-server.json');
  writeFileSync(log, '');
  const issuer = 'kiln-test-issuer';
  const service = 'kiln-test-registry';
  writeFileSync(
    config,
    JSON.stringify({
      key: opts.signer.key,
      cert: opts.signer.cert,
      issuer,
      service,
      users: opts.users,
      refreshTokens: opts.refreshTokens ?? {},
      lifetimeSeconds: opts.lifetimeSeconds ?? 300,
      expiresIn: opts.expiresIn ?? 300,
      // distribution 2.8 accepts a JWT until 60 s past its `exp` (clock skew): see token.go Leeway.
      registryLeewaySeconds: 60,
      log,
      portFile,
      timeoutSeconds: 600,
    }),
  );
  const child = spawn(process.execPath, [script, config], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    if (existsSync(portFile) && readFileSync(portFile, 'utf8') !== '') {
      return {
        realm: `http://127.0.0.1:${readFileSync(portFile, 'utf8')}/token`,
        issuer,
        service,
        requests: () =>
          readFileSync(log, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as TokenRequest),
        stop,
      };
    }
    await sleep(50);
  }
  await stop();
  throw new Error('the token server did not start');
}
