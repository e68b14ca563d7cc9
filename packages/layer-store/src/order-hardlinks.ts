import { LayerStoreError } from './layer-store-error.js';
import type { LayerEntry } from './layer-entry.js';

/**
 * Rewrites each hardlink group so that the member sorting first carries the content and every
 * other member links to it: extractors need a link's target before the link itself. Link chains
 * are followed; a link to a directory, to itself, or to a path outside the layer is INVALID_CHANGE.
 */
export function orderHardlinks(entries: Map<string, LayerEntry>): void {
  const groups = new Map<string, string[]>();
  for (const entry of entries.values()) {
    if (entry.header.type !== 'link') continue;
    const target = resolveLinkTarget(entries, entry.path);
    const members = groups.get(target) ?? [target];
    members.push(entry.path);
    groups.set(target, members);
  }
  for (const [target, members] of groups) {
    const primary = entries.get(target);
    if (primary === undefined) continue;
    const sorted = members
      .map((p) => entries.get(p))
      .filter((e): e is LayerEntry => e !== undefined)
      .sort((a, b) => Buffer.compare(a.key, b.key));
    const first = sorted[0];
    if (first === undefined) continue;
    for (const member of sorted) {
      const header =
        member === first
          ? { ...primary.header, name: member.path }
          : { ...primary.header, name: member.path, type: 'link' as const, size: 0, linkname: first.path };
      entries.set(member.path, {
        path: member.path,
        key: member.key,
        header,
        ...(member === first && primary.open ? { open: primary.open } : {}),
        // The content's host file too: a small one is then read in one call (see readAhead).
        ...(member === first && primary.sourcePath !== undefined ? { sourcePath: primary.sourcePath } : {}),
      });
    }
  }
}

function resolveLinkTarget(entries: Map<string, LayerEntry>, path: string): string {
  const seen = new Set<string>([path]);
  let current = entries.get(path);
  while (current?.header.type === 'link') {
    const next = current.header.linkname;
    if (seen.has(next))
      throw new LayerStoreError('INVALID_CHANGE', `hardlink "${path}" is part of a link cycle`);
    seen.add(next);
    current = entries.get(next);
    if (current === undefined) {
      throw new LayerStoreError(
        'INVALID_CHANGE',
        `hardlink "${path}" points to "${next}", which is not in the layer`,
        'emit the file as a regular file when its link target is not part of the layer',
      );
    }
    if (current.header.type === 'directory') {
      throw new LayerStoreError('INVALID_CHANGE', `hardlink "${path}" points to a directory`);
    }
    if (current.header.type !== 'link') return current.path;
  }
  return path;
}
