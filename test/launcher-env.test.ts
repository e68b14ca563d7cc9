import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildUnpackedOk, repoRoot, storeWithBusybox, tempDir, writeContext } from './support/kiln.js';

// The `kiln` command (packages/builder/bin/kiln) starts node with glibc's malloc limited to two
// arenas, unless the user set MALLOC_ARENA_MAX; RUN steps never inherit it.
const tmp = tempDir('kiln-launcher-env-');
const launcher = join(repoRoot, 'packages', 'builder', 'bin', 'kiln');

afterAll(() => tmp.cleanup());

/** What the launcher passes to `node`: a stand-in `node` first on PATH prints its MALLOC_ARENA_MAX. */
function arenasGiven(env: NodeJS.ProcessEnv): string {
  const bin = join(tmp.path, 'stub-bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'node'), '#!/bin/sh\necho "arenas=${MALLOC_ARENA_MAX-unset} script=${1##*/}"\n');
  chmodSync(join(bin, 'node'), 0o755);
  const base: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
  delete base.MALLOC_ARENA_MAX;
  const r = spawnSync(launcher, ['--version'], { encoding: 'utf8', env: { ...base, ...env } });
  expect(r.status).toBe(0);
  return r.stdout.trim();
}

it('starts node with two malloc arenas, or as many as MALLOC_ARENA_MAX says', () => {
  expect(arenasGiven({})).toBe('arenas=2 script=kiln.js');
  expect(arenasGiven({ MALLOC_ARENA_MAX: '8' })).toBe('arenas=8 script=kiln.js');
});

it('RUN steps do not see it', () => {
  const root = join(tmp.path, 'store');
  storeWithBusybox(root);
  const ctx = writeContext(
    tmp.path,
    'ctx',
    'FROM busybox\nRUN echo "[${MALLOC_ARENA_MAX-unset}]" > /arenas\n',
  );
  const built = buildUnpackedOk(root, tmp.path, ctx);
  expect(readFileSync(join(built.rootfs, 'arenas'), 'utf8')).toBe('[unset]\n');
});
