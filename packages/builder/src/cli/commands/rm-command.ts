import type { Argv } from 'yargs';
import type { CliIo } from '../cli-io.js';

export function rmCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'rm <containers..>',
    'remove containers (and their anonymous volumes)',
    (y) =>
      y
        .positional('containers', {
          type: 'string',
          array: true,
          demandOption: true,
          describe: 'name or id (prefix)',
        })
        .option('force', {
          alias: 'f',
          type: 'boolean',
          default: false,
          describe: 'kill a running container first',
        }),
    async (argv) => {
      const { findContainer } = await import('../../containers/find-container.js');
      const { removeContainer } = await import('../../containers/remove-container.js');
      for (const ref of argv.containers) {
        await removeContainer(argv.root, await findContainer(argv.root, ref), argv.force);
        io.stdout(`${ref}\n`);
      }
    },
  );
}
