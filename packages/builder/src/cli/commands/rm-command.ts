import type { Argv } from 'yargs';
import { findContainer } from '../../containers/find-container.js';
import { removeContainer } from '../../containers/remove-container.js';
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
      for (const ref of argv.containers) {
        await removeContainer(argv.root, await findContainer(argv.root, ref), argv.force);
        io.stdout(`${ref}\n`);
      }
    },
  );
}
