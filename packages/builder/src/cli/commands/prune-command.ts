import type { Argv } from 'yargs';
import { prune } from '../../prune.js';
import type { CliIo } from '../cli-io.js';

export function pruneCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'prune',
    'remove unreferenced blobs, unpacked layers and leftovers of killed builds',
    (y) => y.option('all', { type: 'boolean', default: false, describe: 'also drop the build cache' }),
    async (argv) => {
      const r = await prune({ root: argv.root, all: argv.all });
      io.stdout(
        `removed ${r.removedBlobs} blobs (${r.freedBytes} bytes), ${r.removedCacheRecords} cache records, ` +
          `${r.removedUnpackedLayers} unpacked layers, ${r.removedLeftovers} leftovers\n`,
      );
    },
  );
}
