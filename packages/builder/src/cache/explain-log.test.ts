import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExplainLog } from './explain-log.js';

// Per-file digests live beside the log (read only to explain a miss); the log stays small.
let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kiln-explain-log-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const identity = ['/ctx', '/ctx/Dockerfile', ''];
const manyFiles = (changed: string): Record<string, string> =>
  Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`app/f${i}`, i === 7 ? changed : `d${i}`]));

function explainDir(): string {
  return join(root, 'kiln', 'explain');
}

it('keeps file digests beside the log, explains a miss from them, and drops the ones no longer named', async () => {
  const first = await ExplainLog.load(root, identity);
  first.record('0:2', { parent: 'p', instruction: 'COPY app /app', files: manyFiles('a') });
  await first.save();
  const [log] = readdirSync(explainDir()).filter((n) => n.endsWith('.json'));
  const logText = readFileSync(join(explainDir(), log as string), 'utf8');
  expect(logText.length).toBeLessThan(500);
  const sideDir = join(explainDir(), (log as string).replace(/\.json$/, '.files'));
  const sides = readdirSync(sideDir);
  expect(sides).toHaveLength(1);
  // Another build's save in progress: never removed.
  writeFileSync(join(sideDir, 'x.json.123-abcd.tmp'), '');

  const second = await ExplainLog.load(root, identity);
  const previous = second.previousInputs('0:2');
  expect(typeof previous?.files).toBe('string');
  const why = second.record('0:2', { parent: 'p', instruction: 'COPY app /app', files: manyFiles('b') });
  expect(why.reasons()).toEqual(['app/f7 changed']);
  await second.save();
  const after = readdirSync(sideDir).sort();
  expect(after).toHaveLength(2);
  expect(after).toContain('x.json.123-abcd.tmp');
  expect(after).not.toContain(sides[0]);

  // A reference passed on as it is (a COPY that recognised its context) keeps its file.
  const third = await ExplainLog.load(root, identity);
  const ref = third.previousInputs('0:2')?.files;
  third.record('0:2', { parent: 'p', instruction: 'COPY app /app', files: ref });
  await third.save();
  expect(readdirSync(sideDir).sort()).toEqual(after);
  expect(
    third.record('0:2', { parent: 'p', instruction: 'COPY app /app', files: manyFiles('c') }).reasons(),
  ).toEqual(['app/f7 changed']);
});

it('explains without file names when the side file is gone or altered', async () => {
  const first = await ExplainLog.load(root, identity);
  first.record('0:2', { parent: 'p', instruction: 'COPY app /app', files: manyFiles('a') });
  await first.save();
  const dir = readdirSync(explainDir()).find((n) => n.endsWith('.files')) as string;
  const [side] = readdirSync(join(explainDir(), dir));
  writeFileSync(join(explainDir(), dir, side as string), JSON.stringify(manyFiles('z')));
  const second = await ExplainLog.load(root, identity);
  expect(
    second.record('0:2', { parent: 'q', instruction: 'COPY app /app', files: manyFiles('b') }).reasons(),
  ).toEqual(['an earlier step changed']);
});
