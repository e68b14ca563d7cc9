import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { CliIo } from '../cli-io.js';

export function saveCommand(cli: Argv<{ root: string }>, _io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'save <names..>',
    'write images to a tar archive (docker-archive by default, like docker save)',
    (y) =>
      y
        .positional('names', { type: 'string', array: true, demandOption: true })
        .option('output', {
          alias: 'o',
          type: 'string',
          requiresArg: true,
          demandOption: true,
          describe: 'archive file',
        })
        .option('format', { choices: ['docker', 'oci'] as const, default: 'docker' as const })
        .option('media-types', {
          choices: ['oci', 'docker'] as const,
          default: 'oci' as const,
          describe: 'manifest media types (docker: v2 schema 2, gzip layers only)',
        }),
    async (argv) => {
      const { saveImages } = await import('../../images-archive.js');
      await saveImages({
        root: argv.root,
        names: argv.names,
        output: resolve(argv.output),
        format: argv.format,
        mediaTypes: argv.mediaTypes,
      });
    },
  );
}
