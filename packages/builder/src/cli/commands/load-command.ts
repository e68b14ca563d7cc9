import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { CliIo } from '../cli-io.js';

export function loadCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'load',
    'load images from a docker-archive or OCI-archive tar (plain or gzipped), verifying every blob',
    (y) =>
      y.option('input', {
        alias: 'i',
        type: 'string',
        requiresArg: true,
        demandOption: true,
        describe: 'archive file',
      }),
    async (argv) => {
      const { loadImages } = await import('../../images-archive.js');
      for (const { image, names } of await loadImages({ root: argv.root, input: resolve(argv.input) })) {
        if (names.length === 0) io.stdout(`Loaded image ID: ${image.manifestDescriptor.digest}\n`);
        for (const name of names) io.stdout(`Loaded image: ${name}\n`);
      }
    },
  );
}
