import { Readable } from 'node:stream';
import { canonicalJson, MediaType, sha256Digest, type Descriptor, type Digest } from '@kiln/oci';
import type { BlobSink, ImageSource } from '@kiln/registry';

/** An image held in memory: its blobs by digest and a source that pushes them. */
export interface MemoryImage {
  readonly source: ImageSource;
  readonly blobs: Map<Digest, Buffer>;
}

/**
 * A one-platform image whose layers are the given bytes (OCI, or Docker v2s2 media types). With
 * `whole`, its source can also `read` a blob whole, as the local store's can.
 */
export function memoryImage(opts: {
  layers: Buffer[];
  architecture?: string;
  docker?: boolean;
  whole?: boolean;
}): MemoryImage {
  const blobs = new Map<Digest, Buffer>();
  const add = (bytes: Buffer, mediaType: string): Descriptor => {
    const digest = sha256Digest(bytes);
    blobs.set(digest, bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const layers = opts.layers.map((l) => add(l, opts.docker ? MediaType.DockerLayerGzip : MediaType.LayerTar));
  const config = add(
    Buffer.from(
      canonicalJson({
        architecture: opts.architecture ?? 'amd64',
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
        history: [],
      }),
    ),
    opts.docker ? MediaType.DockerConfig : MediaType.ImageConfig,
  );
  const mediaType = opts.docker ? MediaType.DockerManifest : MediaType.ImageManifest;
  const manifest = add(
    Buffer.from(canonicalJson({ schemaVersion: 2, mediaType, config, layers })),
    mediaType,
  );
  return {
    blobs,
    source: {
      manifest,
      open: async (d) => {
        const b = blobs.get(d);
        if (!b) throw new Error(`no blob ${d}`);
        // Several chunks, as a file stream gives, so range reads cross chunk boundaries.
        const parts: Buffer[] = [];
        for (let i = 0; i < b.length; i += 64 * 1024) parts.push(b.subarray(i, i + 64 * 1024));
        return Readable.from(parts);
      },
      ...(opts.whole
        ? {
            read: async (d: Digest, maxBytes: number) => {
              const b = blobs.get(d);
              if (!b) throw new Error(`no blob ${d}`);
              if (b.length > maxBytes) throw new Error(`blob ${d} is larger than ${maxBytes} bytes`);
              return b;
            },
          }
        : {}),
    },
  };
}

/** A sink that keeps pulled blobs in memory, checking each digest as a real store does. */
export function memorySink(): BlobSink & { blobs: Map<Digest, Buffer> } {
  const blobs = new Map<Digest, Buffer>();
  return {
    blobs,
    stat: async (d) => blobs.get(d)?.length,
    put: async (stream, digest) => {
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      const bytes = Buffer.concat(chunks);
      if (sha256Digest(bytes) !== digest) throw new Error('digest mismatch in sink');
      blobs.set(digest, bytes);
    },
  };
}
