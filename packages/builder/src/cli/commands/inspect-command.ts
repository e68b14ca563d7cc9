import type { Argv } from 'yargs';
import { BuilderError } from '../../builder-error.js';
import type { CliIo } from '../cli-io.js';

export function inspectCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'inspect <name>',
    'print the manifest and config of an image as JSON',
    (y) => y.positional('name', { type: 'string', demandOption: true }),
    async (argv) => {
      const { LayerStore } = await import('@kiln/layer-store');
      const { formatImageName, parseImageName } = await import('@kiln/oci');
      const store = await LayerStore.open(argv.root);
      const name = formatImageName(parseImageName(argv.name));
      const found = await store.resolveTag(name);
      if (!found) throw new BuilderError('BASE_NOT_FOUND', `image "${name}" not found in the local store`);
      const image = await store.readImage(found.digest);
      io.stdout(
        `${JSON.stringify({ name, digest: found.digest, manifest: image.manifest, config: image.config }, null, 2)}\n`,
      );
    },
  );
}
