import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeTarArchive, type Image, type LayerStore } from '@kiln/layer-store';
import { parseImageName, type Digest } from '@kiln/oci';
import { pushImage } from '@kiln/registry';
import { MergedTree, mergeRootfs, type Snapshotter } from '@kiln/runner-native';
import { BuilderError } from '../builder-error.js';
import type { OutputSpec } from './output-spec.js';
import { rootfsChanges } from './rootfs-changes.js';
import { storeBlobOrigins } from '../store/store-blob-origins.js';
import { storeImageSource } from '../store/store-image-source.js';
import { storePlainHttpMemo } from '../store/store-plain-http-memo.js';

/** What the outputs are made from: the stored image and the final stage's unpacked layers. */
export interface OutputSources {
  readonly store: LayerStore;
  readonly snapshotter: Snapshotter;
  readonly image: Image;
  /** Unpacks the final stage's layers into the snapshotter and returns their diffIDs (bottom → top). */
  readonly prepareLayers: () => Promise<readonly Digest[]>;
  /** Normalised tags of the build (`name:tag`), for ref names and RepoTags. */
  readonly tags: readonly string[];
  readonly sourceDateEpoch?: number;
  /** Where `dest: '-'` goes; INVALID_OUTPUT when an output asks for it and there is none. */
  readonly stdout?: Writable;
  /** For `type=registry`: registries reached over plain HTTP besides loopback ones. */
  readonly insecureRegistries?: readonly string[];
  /** CA files trusted for HTTPS to registries besides the system's and certs.d (`--registry-ca`). */
  readonly registryCaFiles?: readonly string[];
  readonly signal?: AbortSignal;
  /** Told about each reference pushed by `type=registry`, with the manifest digest the registry has. */
  readonly onPushed?: (reference: string, digest: Digest) => void;
}

/**
 * Writes every output in order. File outputs appear at `dest` only when complete (temp file
 * beside it, then rename); `type=local` writes into the directory as it goes. A stdout output is
 * streamed and the stream is left open (the caller owns it). `type=registry` pushes the image
 * to each name (blobs first, the manifest last, so a failed push names no missing blob).
 */
export async function writeOutputs(outputs: readonly OutputSpec[], src: OutputSources): Promise<void> {
  if (outputs.filter((o) => o.dest === '-').length > 1)
    throw new BuilderError('INVALID_OUTPUT', 'only one output may use dest=- (stdout)');
  for (const out of outputs) await writeOutput(out, src);
}

async function writeOutput(out: OutputSpec, src: OutputSources): Promise<void> {
  const { store, image, tags } = src;
  switch (out.type) {
    case 'oci': {
      const refName = out.name ?? (tags[0] ? parseImageName(tags[0]).tag : 'latest');
      // Converted once per (layer, algorithm) and remembered; gzip is what the store already holds.
      const exported = out.compression ? await store.recompressImage(image, out.compression) : image;
      if (out.dest === '-') {
        await viaTempFile(src, (file) => store.exportOciLayout(exported, refName, file, { tar: true }));
        return;
      }
      await store.exportOciLayout(exported, refName, resolve(out.dest), { tar: out.tar });
      return;
    }
    case 'docker': {
      const write = (file: string): Promise<void> =>
        store.saveImages([{ image, names: out.names ?? tags }], file, { format: 'docker' });
      if (out.dest === '-') await viaTempFile(src, write);
      else await write(resolve(out.dest));
      return;
    }
    case 'local':
      await mergeRootfs(src.snapshotter, await src.prepareLayers(), resolve(out.dest));
      return;
    case 'registry': {
      const names = out.names ?? tags;
      if (names.length === 0)
        throw new BuilderError('INVALID_OUTPUT', 'pushing needs a name', {
          hint: 'give the image a name with -t REGISTRY/REPOSITORY:TAG',
        });
      for (const name of names) {
        const digest = await pushImage(name, storeImageSource(store, image.manifestDescriptor), {
          signal: src.signal ?? new AbortController().signal,
          insecure: src.insecureRegistries,
          caFiles: src.registryCaFiles,
          // As `kiln push`: blobs seen in another repository of the registry are mounted, and
          // small ones never seen there are sent without asking first (see pushImage).
          origins: storeBlobOrigins(store),
          plainHttp: storePlainHttpMemo(store),
        });
        src.onPushed?.(name, digest);
      }
      return;
    }
    case 'tar': {
      const tree = await MergedTree.open(src.snapshotter, await src.prepareLayers());
      const write = (sink: Writable): Promise<void> =>
        writeTarArchive(rootfsChanges(tree), sink, { sourceDateEpoch: src.sourceDateEpoch });
      if (out.dest === '-') await write(nonEnding(stdoutOf(src)));
      else await writeFileAtomically(resolve(out.dest), write);
      return;
    }
  }
}

function stdoutOf(src: OutputSources): Writable {
  if (!src.stdout) throw new BuilderError('INVALID_OUTPUT', 'dest=- needs a stdout stream');
  return src.stdout;
}

/** For writers that only write files: a temp file, streamed to stdout, then removed. */
async function viaTempFile(src: OutputSources, write: (file: string) => Promise<void>): Promise<void> {
  const stdout = stdoutOf(src);
  const dir = await mkdtemp(join(tmpdir(), 'kiln-output-'));
  try {
    const file = join(dir, 'out.tar');
    await write(file);
    await pipeline(createReadStream(file), nonEnding(stdout));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `write` fills a temp file beside `dest`, which then replaces `dest`; nothing is left on failure. */
async function writeFileAtomically(dest: string, write: (sink: Writable) => Promise<void>): Promise<void> {
  const tmp = join(dirname(dest), `.${basename(dest)}.kiln-${process.pid}-${Date.now()}`);
  try {
    await write(createWriteStream(tmp, { flags: 'wx' }));
    const handle = await open(tmp, 'r');
    await handle.sync().finally(() => handle.close());
    await rename(tmp, dest);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** A view of `stream` whose end() does not end it: pipelines must not close the caller's stdout. */
function nonEnding(stream: Writable): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      // The caller's stream may fail (EPIPE when the reader goes away): fail this write with it.
      const failed = (err: Error): void => done(err);
      stream.once('error', failed);
      const settle = (): void => {
        stream.off('error', failed);
        done();
      };
      if (stream.write(chunk)) settle();
      else stream.once('drain', settle);
    },
  });
}
