import type { Argv } from 'yargs';
import type { CliIo } from '../cli-io.js';

export function pullCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'pull <ref>',
    'pull an image from a registry into the local store (tagged as written, e.g. localhost:5000/app:1) and unpack its layers',
    (y) => y.positional('ref', { type: 'string', demandOption: true }),
    async (argv) => {
      const { LayerStore } = await import('@kiln/layer-store');
      const { pullIntoStore } = await import('../../base/pull-into-store.js');
      const store = await LayerStore.open(argv.root);
      const image = await pullIntoStore(store, argv.ref, {
        insecure: io.insecureRegistries,
        caFiles: io.registryCaFiles,
        signal: io.signal,
      });
      // As `docker pull` does: the layers are unpacked now, so the first build or run on this
      // image starts at once (the snapshots are shared, and pruned with the image).
      const { Snapshotter } = await import('@kiln/runner-native');
      const { snapshotRoot } = await import('../../prune.js');
      const { unpackImage } = await import('../../containers/create-container.js');
      await unpackImage(store, new Snapshotter(snapshotRoot(argv.root)), image);
      io.stdout(`${image.manifestDescriptor.digest}\n`);
    },
  );
}
