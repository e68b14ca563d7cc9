import type { Argv } from 'yargs';
import type { CliIo } from '../cli-io.js';

export function commitCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'commit <container> <name>',
    "make an image of a container's changes (a new layer on its image); prints the digest",
    (y) =>
      y
        .positional('container', { type: 'string', demandOption: true, describe: 'name or id (prefix)' })
        .positional('name', { type: 'string', demandOption: true, describe: 'NAME[:TAG] of the new image' }),
    async (argv) => {
      const { commitContainer } = await import('../../containers/commit-container.js');
      const { findContainer } = await import('../../containers/find-container.js');
      const entry = await findContainer(argv.root, argv.container);
      io.stdout(`${await commitContainer(argv.root, entry, argv.name)}\n`);
    },
  );
}
