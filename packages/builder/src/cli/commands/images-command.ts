import type { Argv } from 'yargs';
import type { CliIo } from '../cli-io.js';

export function imagesCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'images',
    'list tagged images in the local store',
    (y) => y,
    async (argv) => {
      const { LayerStore } = await import('@kiln/layer-store');
      const store = await LayerStore.open(argv.root);
      const rows: string[][] = [['NAME', 'TAG', 'DIGEST', 'CREATED', 'SIZE']];
      for (const entry of await store.listTags()) {
        const image = await store.readImage(entry.descriptor.digest);
        const colon = entry.name.lastIndexOf(':');
        const size = image.manifest.layers.reduce((n, l) => n + l.size, image.manifest.config.size);
        rows.push([
          entry.name.slice(0, colon),
          entry.name.slice(colon + 1),
          entry.descriptor.digest.slice(7, 19),
          image.config.created ?? '',
          formatSize(size),
        ]);
      }
      const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
      for (const r of rows)
        io.stdout(
          `${r
            .map((c, i) => c.padEnd(widths[i] ?? 0))
            .join('   ')
            .trimEnd()}\n`,
        );
    },
  );
}

function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes}B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)}kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)}MB`;
  return `${(bytes / 1e9).toFixed(2)}GB`;
}
