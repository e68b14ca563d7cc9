import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { CliIo } from '../cli-io.js';
import { sourceDateEpochOf } from '../source-date-epoch.js';

export function importCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'import <source> <name>',
    'make a one-layer image from a root filesystem directory or tar (SOURCE_DATE_EPOCH: created then, no later file times)',
    (y) =>
      y
        .positional('source', { type: 'string', demandOption: true })
        .positional('name', { type: 'string', demandOption: true }),
    async (argv) => {
      const { importImage } = await import('../../import-image.js');
      const image = await importImage({
        root: argv.root,
        source: resolve(argv.source),
        name: argv.name,
        sourceDateEpoch: sourceDateEpochOf(process.env),
      });
      io.stdout(`${image.manifestDescriptor.digest}\n`);
    },
  );
}
