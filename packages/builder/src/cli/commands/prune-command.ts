import type { Argv } from 'yargs';
import type { CliIo } from '../cli-io.js';
import { parseDuration } from '../parse-duration.js';
import { parseSize } from '../parse-size.js';

export function pruneCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'prune',
    'remove unreferenced blobs, unpacked layers and leftovers of killed builds',
    (y) =>
      y
        .option('all', { type: 'boolean', default: false, describe: 'also drop the build cache' })
        .option('keep-storage', {
          type: 'string',
          requiresArg: true,
          describe: 'evict least-recently-used build cache until blobs fit in SIZE (e.g. 10GB)',
        })
        .option('keep-duration', {
          type: 'string',
          requiresArg: true,
          describe: 'drop build cache unused for longer than DUR (e.g. 24h, 7d)',
        }),
    async (argv) => {
      const { prune } = await import('../../prune.js');
      const r = await prune({
        root: argv.root,
        all: argv.all,
        ...(argv.keepStorage !== undefined ? { keepStorage: parseSize(argv.keepStorage) } : {}),
        ...(argv.keepDuration !== undefined ? { keepDuration: parseDuration(argv.keepDuration) } : {}),
      });
      io.stdout(
        `removed ${r.removedBlobs} blobs (${r.freedBytes} bytes), ${r.removedCacheRecords} cache records, ` +
          `${r.removedUnpackedLayers} unpacked layers, ${r.removedLeftovers} leftovers\n`,
      );
    },
  );
}
