import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, kilnBin, storeWithBusybox, tempDir } from './support/kiln.js';

const tmp = tempDir('kiln-crash-');
const root = join(tmp.path, 'store');
const ctx = join(tmp.path, 'ctx');

beforeAll(() => {
  storeWithBusybox(root);
  mkdirSync(join(ctx, 'files'), { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(join(ctx, 'files', `f${i}`), `file ${i}\n`.repeat(100 * i));
  writeFileSync(
    join(ctx, 'Dockerfile'),
    [
      'FROM busybox',
      'ARG ROUND',
      'RUN echo "$ROUND" > /round && dd if=/dev/urandom of=/big bs=1M count=24 2>/dev/null',
      'COPY files/ /files/',
      'RUN cat /files/* > /all && sleep 0.2',
      'RUN dd if=/dev/urandom of=/big2 bs=1M count=8 2>/dev/null',
    ].join('\n'),
  );
});
afterAll(() => tmp.cleanup());

/** Starts a build and SIGKILLs it after `delayMs` (or lets it finish first). */
function buildKilledAfter(delayMs: number, round: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(
      kilnBin,
      ['--root', root, 'build', '-q', '-t', 'crash:latest', '--build-arg', `ROUND=${round}`, ctx],
      {
        stdio: 'ignore',
      },
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A small deterministic PRNG so a failing run can be reproduced from the printed seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('crash safety', () => {
  it('a store survives builds killed with SIGKILL at random points', async () => {
    const seed = Number(process.env.KILN_CRASH_SEED ?? Date.now() % 100000);
    const random = prng(seed);
    const rounds = 12;
    for (let round = 0; round < rounds; round++) {
      const delay = Math.floor(random() * 2500);
      await buildKilledAfter(delay, round);
      const verify = kiln(root, ['store', 'verify']);
      expect({ seed, round, delay, status: verify.status, out: verify.stdout }).toMatchObject({ status: 0 });
    }
    const ok = kiln(root, ['build', '-q', '-t', 'crash:latest', '--build-arg', 'ROUND=final', ctx]);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(kiln(root, ['store', 'verify']).status).toBe(0);
    const prune = kiln(root, ['prune']);
    expect(prune.status).toBe(0);
    expect(readdirSync(join(root, 'kiln', 'tmp'))).toEqual([]);
    expect(readdirSync(join(root, 'kiln', 'snapshots', 'active'))).toEqual([]);
    expect(readdirSync(join(root, 'kiln', 'snapshots', 'layers')).filter((n) => n.startsWith('.'))).toEqual(
      [],
    );
    expect(kiln(root, ['store', 'verify']).status).toBe(0);
    const inspect = JSON.parse(kiln(root, ['inspect', 'crash:latest']).stdout) as {
      config: { rootfs: { diff_ids: string[] } };
    };
    expect(inspect.config.rootfs.diff_ids).toHaveLength(5);
  });

  it('four builds at once on one store all succeed and the store verifies', async () => {
    const runs = [0, 1, 2, 3].map(
      (i) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(
            kilnBin,
            ['--root', root, 'build', '-q', '-t', `concurrent:${i}`, '--build-arg', `ROUND=c${i}`, ctx],
            {
              stdio: 'ignore',
            },
          );
          child.on('exit', (code) => resolve(code));
        }),
    );
    expect(await Promise.all(runs)).toEqual([0, 0, 0, 0]);
    expect(kiln(root, ['store', 'verify']).status).toBe(0);
    const images = kiln(root, ['images']).stdout;
    for (let i = 0; i < 4; i++) expect(images).toMatch(new RegExp(`^concurrent\\s+${i}\\s`, 'm'));
  });

  it('prune refuses while a build runs, and prune --all drops the cache', async () => {
    writeFileSync(join(tmp.path, 'Dockerfile.slow'), 'FROM busybox\nRUN sleep 3\n');
    const child = spawn(
      kilnBin,
      ['--root', root, 'build', '--no-cache', '-f', join(tmp.path, 'Dockerfile.slow'), ctx],
      { stdio: 'ignore' },
    );
    await new Promise((r) => setTimeout(r, 1000));
    const busy = kiln(root, ['prune']);
    expect(busy.status).toBe(1);
    expect(busy.stderr).toContain('build(s) are running');
    await new Promise((r) => child.on('exit', r));
    const all = kiln(root, ['prune', '--all']);
    expect(all.status).toBe(0);
    expect(readdirSync(join(root, 'kiln', 'cache'))).toEqual([]);
    expect(kiln(root, ['store', 'verify']).status).toBe(0);
    const rebuilt = kiln(root, [
      'build',
      '--progress',
      'plain',
      '-t',
      'crash:latest',
      '--build-arg',
      'ROUND=final',
      ctx,
    ]);
    expect(rebuilt.status).toBe(0);
    expect(rebuilt.stderr).not.toContain('CACHED');
  });
});
