import type { Argv } from 'yargs';
import type { CliIo } from '../cli-io.js';

/** `kiln push NAME [DEST]`; plain forms of it start without yargs (see push-main.ts). */
export function pushCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'push <name> [dest]',
    'push an image of the local store to a registry (DEST defaults to NAME)',
    (y) =>
      y
        .positional('name', { type: 'string', demandOption: true, describe: 'local name[:tag]' })
        .positional('dest', { type: 'string', describe: 'registry/repository[:tag]' }),
    async (argv) => {
      const { runPush } = await import('../run-push.js');
      await runPush({ root: argv.root, name: argv.name, dest: argv.dest }, io);
    },
  );
}
