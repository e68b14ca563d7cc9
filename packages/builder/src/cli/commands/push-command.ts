import type { Argv } from 'yargs';
import { BuilderError } from '../../builder-error.js';
import type { CliIo } from '../cli-io.js';

export function pushCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'push <name> [dest]',
    'push an image of the local store to a registry (DEST defaults to NAME)',
    (y) =>
      y
        .positional('name', { type: 'string', demandOption: true, describe: 'local name[:tag]' })
        .positional('dest', { type: 'string', describe: 'registry/repository[:tag]' }),
    async (argv) => {
      const { LayerStore } = await import('@kiln/layer-store');
      const { formatImageName, parseImageName } = await import('@kiln/oci');
      const { pushImage } = await import('@kiln/registry');
      const { storeBlobOrigins } = await import('../../store/store-blob-origins.js');
      const { storeImageSource } = await import('../../store/store-image-source.js');
      const { storePlainHttpMemo } = await import('../../store/store-plain-http-memo.js');
      const store = await LayerStore.open(argv.root);
      const name = formatImageName(parseImageName(argv.name));
      const manifest = await store.resolveTag(name);
      if (!manifest) throw new BuilderError('BASE_NOT_FOUND', `image "${name}" not found in the local store`);
      const digest = await pushImage(argv.dest ?? argv.name, storeImageSource(store, manifest), {
        signal: io.signal,
        insecure: io.insecureRegistries,
        caFiles: io.registryCaFiles,
        // Blobs pulled from or pushed to another repository of this registry are mounted.
        origins: storeBlobOrigins(store),
        plainHttp: storePlainHttpMemo(store),
        onBlob: (d, outcome) => io.stderr(`${d}: ${PUSH_OUTCOME[outcome]}\n`),
      });
      io.stdout(`${digest}\n`);
    },
  );
}

const PUSH_OUTCOME = { exists: 'already exists', mounted: 'mounted', uploaded: 'pushed' } as const;
