import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { CliIo } from '../cli-io.js';

export function importCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'import <source> <name>',
    'make a one-layer image from a root filesystem directory or tar',
    (y) =>
      y
        .positional('source', { type: 'string', demandOption: true })
        .positional('name', { type: 'string', demandOption: true }),
    async (argv) => {
      const { importImage } = await import('../../import-image.js');
      const image = await importImage({ root: argv.root, source: resolve(argv.source), name: argv.name });
      io.stdout(`${image.manifestDescriptor.digest}\n`);
    },
  );
}
