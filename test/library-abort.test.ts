import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, BuilderError, type BuildEvent } from '@kiln/builder';
import { kiln, storeWithBusybox, tempDir } from './support/kiln.js';

// The library API: build() with an AbortSignal and a collecting Reporter. Aborting while a RUN
// is running must reject, kill the step's processes and leave no tag.

const tmp = tempDir('kiln-abort-');
const root = join(tmp.path, 'store');
const marker = `kiln-abort-marker-${process.pid}`;

beforeAll(() => storeWithBusybox(root));
afterAll(() => tmp.cleanup());

function running(): string {
  return spawnSync('pgrep', ['-f', marker], { encoding: 'utf8' }).stdout.trim();
}

test('aborting mid-RUN rejects, leaves no process behind and moves no tag', async () => {
  const ctx = join(tmp.path, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), `FROM busybox\nRUN echo started; sleep 300; echo ${marker}\n`);
  const controller = new AbortController();
  const events: BuildEvent[] = [];
  const reporter = {
    event(e: BuildEvent) {
      events.push(e);
      if (e.type === 'step-log' && e.text.includes('started')) controller.abort();
    },
  };
  const started = Date.now();
  const error: unknown = await build(
    { root, contextDir: ctx, tags: ['aborted:1'], noCache: true },
    { reporter, signal: controller.signal },
  ).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(controller.signal.aborted).toBe(true);
  expect(error).toBeInstanceOf(BuilderError);
  expect((error as BuilderError).code).toBe('CANCELLED');
  expect(Date.now() - started).toBeLessThan(60_000);
  expect(events).toContainEqual(
    expect.objectContaining({ type: 'step-start', name: expect.stringMatching(/RUN echo started/) }),
  );
  expect(running()).toBe('');
  expect(kiln(root, ['images']).stdout).not.toMatch(/aborted/);
});
