import { LayerStore } from '@kiln/layer-store';
import { formatImageName, parseImageName } from '@kiln/oci';
import { pushImage, type BlobOutcome } from '@kiln/registry';
import { BuilderError } from '../builder-error.js';
import { storeBlobOrigins } from '../store/store-blob-origins.js';
import { storeImageSource } from '../store/store-image-source.js';
import { storePlainHttpMemo } from '../store/store-plain-http-memo.js';
import type { CliIo } from './cli-io.js';

/** What `kiln push` was asked: the store, the local image, and where it goes. */
export interface PushArgs {
  readonly root: string;
  /** The local image, `name[:tag]`. */
  readonly name: string;
  /** `registry/repository[:tag]`; default: `name`. */
  readonly dest?: string;
}

/**
 * `kiln push`: pushes an image of the local store to a registry (see pushImage): the registries
 * of `io` (`--insecure-registry`, `--registry-ca`), blobs mounted where the store has seen them in
 * another repository of the registry; one line per blob on stderr, the manifest digest on stdout.
 * Run by both the yargs command (commands/push-command.ts) and the push-only start (push-main.ts).
 */
export async function runPush(args: PushArgs, io: CliIo): Promise<void> {
  const store = await LayerStore.open(args.root);
  const name = formatImageName(parseImageName(args.name));
  const manifest = await store.resolveTag(name);
  if (!manifest) throw new BuilderError('BASE_NOT_FOUND', `image "${name}" not found in the local store`);
  const digest = await pushImage(args.dest ?? args.name, storeImageSource(store, manifest), {
    signal: io.signal,
    insecure: io.insecureRegistries,
    caFiles: io.registryCaFiles,
    // Blobs pulled from or pushed to another repository of this registry are mounted.
    origins: storeBlobOrigins(store),
    plainHttp: storePlainHttpMemo(store),
    onBlob: (d, outcome) => io.stderr(`${d}: ${PUSH_OUTCOME[outcome]}\n`),
  });
  io.stdout(`${digest}\n`);
}

const PUSH_OUTCOME: Readonly<Record<BlobOutcome, string>> = {
  exists: 'already exists',
  mounted: 'mounted',
  uploaded: 'pushed',
};
