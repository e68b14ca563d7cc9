import type { Argv } from 'yargs';
import type { CliIo } from '../cli-io.js';

export function duCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'du',
    'show how the store uses disk space, by kind',
    (y) => y.option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
    async (argv) => {
      const { storeDiskUsage } = await import('../../store-disk-usage.js');
      const u = await storeDiskUsage(argv.root);
      if (argv.json) {
        io.stdout(`${JSON.stringify(u, undefined, 2)}\n`);
        return;
      }
      const rows: Array<[string, { count: number; bytes: number }]> = [
        ['image blobs', u.imageBlobs],
        ['cache-only blobs', u.cacheBlobs],
        ['unreferenced blobs', u.unreferencedBlobs],
        ['cache records', u.cacheRecords],
        ['unpacked layers', u.unpackedLayers],
        ['temp', { count: u.temp.count + u.snapshotTemp.count, bytes: u.temp.bytes + u.snapshotTemp.bytes }],
      ];
      io.stdout(`${'KIND'.padEnd(20)}${'COUNT'.padStart(8)}${'SIZE'.padStart(12)}\n`);
      for (const [kind, x] of rows)
        io.stdout(`${kind.padEnd(20)}${String(x.count).padStart(8)}${String(x.bytes).padStart(12)}\n`);
      const total = rows.reduce((n, [, x]) => n + x.bytes, 0);
      io.stdout(`${'total'.padEnd(28)}${String(total).padStart(12)}\n`);
    },
  );
}
