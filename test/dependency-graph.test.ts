import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './support/kiln.js';

/** DESIGN.md §1: which kiln packages each package may import, and which third-party modules it owns. */
const allowed: Record<string, { kiln: string[]; thirdParty: string[] }> = {
  oci: { kiln: [], thirdParty: [] },
  parser: { kiln: [], thirdParty: [] },
  'layer-store': { kiln: ['oci'], thirdParty: ['tar-stream', 'ssri', '@mongodb-js/zstd'] },
  registry: { kiln: ['oci'], thirdParty: [] },
  'runner-native': { kiln: ['oci'], thirdParty: ['tar-stream'] },
  builder: {
    kiln: ['oci', 'parser', 'layer-store', 'runner-native', 'registry'],
    // @mongodb-js/zstd: never imported by builder, only resolvable from the bundled CLI (see scripts/bundle-cli.mjs).
    thirdParty: ['p-queue', 'yargs', '@balena/dockerignore', '@mongodb-js/zstd'],
  },
};
/** Third-party modules confined to one folder of their package (DESIGN.md §1 and §4.10). */
const confined: Record<string, string> = {
  'p-queue': 'builder/src/schedule/',
  yargs: 'builder/src/cli/',
  '@balena/dockerignore': 'builder/src/context/',
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [
    ...text.matchAll(
      /(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
    ),
  ].map((m) => (m[1] ?? m[2]) as string);
}

describe('package dependency graph (DESIGN.md §1)', () => {
  for (const [pkg, rules] of Object.entries(allowed)) {
    it(`${pkg} imports only what it may`, () => {
      const problems: string[] = [];
      const pkgDir = join(repoRoot, 'packages', pkg, 'src');
      for (const file of sources(pkgDir)) {
        const where = relative(join(repoRoot, 'packages'), file);
        for (const spec of imports(file)) {
          if (spec.startsWith('.') || spec.startsWith('node:')) continue;
          if (spec.startsWith('@kiln/')) {
            if (!rules.kiln.includes(spec.slice(6))) problems.push(`${where} imports ${spec}`);
            continue;
          }
          const mod = spec.startsWith('@')
            ? spec.split('/').slice(0, 2).join('/')
            : (spec.split('/')[0] as string);
          if (!rules.thirdParty.includes(mod)) problems.push(`${where} imports third-party ${mod}`);
          const only = confined[mod];
          if (only && !where.startsWith(only))
            problems.push(`${where} imports ${mod}, which belongs in ${only}`);
        }
      }
      expect(problems).toEqual([]);
    });
  }

  it('package.json dependencies match the graph', () => {
    for (const [pkg, rules] of Object.entries(allowed)) {
      const manifest = JSON.parse(readFileSync(join(repoRoot, 'packages', pkg, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
      };
      const deps = Object.keys(manifest.dependencies ?? {});
      const expected = [...rules.kiln.map((k) => `@kiln/${k}`), ...rules.thirdParty];
      for (const d of deps)
        expect({ pkg, dep: d, allowed: expected.includes(d) }).toEqual({ pkg, dep: d, allowed: true });
    }
  });
});
