import { BuilderError } from '../builder-error.js';
import { listContainers, type ContainerEntry } from './container-record.js';

/** The container named `ref`, else the one whose id starts with `ref`; `CONTAINER_NOT_FOUND` otherwise (or when ambiguous). */
export async function findContainer(root: string, ref: string): Promise<ContainerEntry> {
  const all = await listContainers(root);
  const byName = all.find((e) => e.config.name === ref);
  if (byName) return byName;
  const byId = /^[0-9a-f]+$/.test(ref) ? all.filter((e) => e.config.id.startsWith(ref)) : [];
  if (byId.length === 1 && byId[0]) return byId[0];
  throw new BuilderError(
    'CONTAINER_NOT_FOUND',
    byId.length > 1 ? `container id prefix "${ref}" is ambiguous` : `no such container: ${ref}`,
  );
}
