import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, repoRoot, tempDir } from './support/kiln.js';

// `kiln --version`, as docker users type it: the bundle's constant (scripts/bundle-cli.mjs) and
// the unbundled dist/'s read of package.json must say the same thing.
const tmp = tempDir('kiln-version-');
afterAll(() => tmp.cleanup());

const { version } = JSON.parse(
  readFileSync(join(repoRoot, 'packages', 'builder', 'package.json'), 'utf8'),
) as { version: string };

describe('kiln --version', () => {
  it.each([
    ['the bundle', {}],
    ['dist/ (KILN_NO_BUNDLE=1)', { KILN_NO_BUNDLE: '1' }],
  ])("prints packages/builder/package.json's version from %s", (_what, env) => {
    const r = kiln(join(tmp.path, 'store'), ['--version'], env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
  });

  it('is listed in --help', () => {
    expect(kiln(join(tmp.path, 'store'), ['--help']).stdout).toMatch(/^ {2}--version +Show version number/m);
  });
});
