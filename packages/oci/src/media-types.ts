export const MediaType = {
  ImageIndex: 'application/vnd.oci.image.index.v1+json',
  ImageManifest: 'application/vnd.oci.image.manifest.v1+json',
  ImageConfig: 'application/vnd.oci.image.config.v1+json',
  LayerTarGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  LayerTarZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  LayerTar: 'application/vnd.oci.image.layer.v1.tar',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export type MediaType = (typeof MediaType)[keyof typeof MediaType] | (string & {});

/** Annotation BuildKit and umoci use to name an entry of an OCI layout's index. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
