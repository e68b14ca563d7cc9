import { spawn } from 'node:child_process';
import { redactSecrets } from './redact-secrets.js';
import { RegistryError } from './registry-error.js';

/** The three actions of docker's credential-helper protocol. */
export type CredentialHelperAction = 'get' | 'store' | 'erase';

const MAX_OUTPUT = 1024 * 1024;

/**
 * Runs `docker-credential-<helper> <action>` with `input` on stdin (a server URL for `get` and
 * `erase`, `{"ServerURL","Username","Secret"}` for `store`) and returns its stdout. Resolves
 * undefined when the helper says it has no credentials for that server (docker's
 * "credentials not found" message); any other failure is CREDENTIAL_HELPER, with the helper's
 * own message (redacted) and a hint when the program is missing.
 */
export function runCredentialHelper(
  helper: string,
  action: CredentialHelperAction,
  input: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const program = `docker-credential-${helper}`;
  if (!/^[A-Za-z0-9._-]+$/.test(helper))
    return Promise.reject(
      new RegistryError('CREDENTIAL_HELPER', `invalid credential helper name "${helper}" in config.json`),
    );
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT) child.kill('SIGKILL');
      else out.push(chunk);
    });
    const err: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < 64) err.push(chunk);
    });
    // A helper that exits without reading stdin makes our write fail with EPIPE; its exit status
    // tells what happened, so the write error itself is not the story.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    child.on('error', (cause: NodeJS.ErrnoException) =>
      reject(
        new RegistryError('CREDENTIAL_HELPER', `cannot run ${program}: ${cause.message}`, {
          cause,
          hint:
            cause.code === 'ENOENT'
              ? `install ${program} on PATH, or remove it from credsStore/credHelpers in docker's config.json`
              : undefined,
        }),
      ),
    );
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0) return resolve(stdout);
      const said = (stdout.trim() || Buffer.concat(err).toString('utf8').trim()).slice(0, 500);
      if (/credentials not found/i.test(said)) return resolve(undefined);
      reject(
        new RegistryError(
          'CREDENTIAL_HELPER',
          `${program} ${action} failed (${signal ?? `exit ${code}`})${said ? `: ${redactSecrets(said)}` : ''}`,
        ),
      );
    });
  });
}
