import type { Argv } from 'yargs';
import { BuilderError } from '../../builder-error.js';
import type { CliIo } from '../cli-io.js';

/** `https://host:port/v2/` → `host:port`, as docker accepts a URL for SERVER. */
function serverName(server: string): string {
  return server.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}

/** Everything on stdin, less the line end a pipe or `echo` adds (as `docker login` trims it). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function loginCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli
    .command(
      'login [server]',
      'log in to a registry: the credentials are checked on the registry, then stored as docker does (credential helper or config.json)',
      (y) =>
        y
          .positional('server', { type: 'string', default: 'docker.io', describe: 'registry host[:port]' })
          .option('username', { alias: 'u', type: 'string', requiresArg: true, describe: 'user name' })
          .option('password', {
            alias: 'p',
            type: 'string',
            requiresArg: true,
            describe: 'password (visible to other users: prefer --password-stdin)',
          })
          .option('password-stdin', {
            type: 'boolean',
            default: false,
            describe: 'read the password from stdin',
          }),
      async (argv) => {
        if (argv.password !== undefined && argv.passwordStdin)
          throw new BuilderError(
            'INVALID_ARGUMENT',
            '--password and --password-stdin are mutually exclusive',
          );
        if (!argv.username)
          throw new BuilderError('INVALID_ARGUMENT', 'kiln login needs --username (-u)', {
            hint: 'echo "$PASSWORD" | kiln login -u USER --password-stdin SERVER',
          });
        if (argv.password !== undefined)
          io.stderr('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
        const password = argv.passwordStdin ? await readStdin() : argv.password;
        if (!password)
          throw new BuilderError('INVALID_ARGUMENT', 'kiln login needs a password', {
            hint: 'pipe it in with --password-stdin',
          });
        const { registryLogin } = await import('@kiln/registry');
        const server = serverName(argv.server);
        const stored = await registryLogin(
          server,
          { username: argv.username, password },
          { signal: io.signal, insecure: io.insecureRegistries, caFiles: io.registryCaFiles },
        );
        io.stderr(
          stored.kind === 'helper'
            ? `credentials stored with docker-credential-${stored.helper}\n`
            : "credentials stored in docker's config.json\n",
        );
        io.stdout('Login Succeeded\n');
      },
    )
    .command(
      'logout [server]',
      'forget the credentials of a registry (credential helper and config.json)',
      (y) =>
        y.positional('server', { type: 'string', default: 'docker.io', describe: 'registry host[:port]' }),
      async (argv) => {
        const { registryLogout } = await import('@kiln/registry');
        const server = serverName(argv.server);
        io.stdout(
          (await registryLogout(server))
            ? `Removing login credentials for ${server}\n`
            : `Not logged in to ${server}\n`,
        );
      },
    );
}
