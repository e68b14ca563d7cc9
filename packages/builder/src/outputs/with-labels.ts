import type { ImageConfig } from '@kiln/oci';

/**
 * `config` with `labels` added to its Labels (a label given here wins over one of the same name
 * from the Dockerfile or the base image, as with `docker build --label`). Pure; `config` is
 * returned as is when there is nothing to add.
 */
export function withLabels(
  config: ImageConfig,
  labels: ReadonlyMap<string, string> | undefined,
): ImageConfig {
  if (labels === undefined || labels.size === 0) return config;
  return {
    ...config,
    config: { ...config.config, Labels: { ...config.config.Labels, ...Object.fromEntries(labels) } },
  };
}
