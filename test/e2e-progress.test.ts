import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, kilnBin, storeWithBusybox, tempDir } from './support/kiln.js';

// `--progress` modes and `--log-file`, through the real binary (and once under a real
// pseudo-terminal made by script(1)).

const tmp = tempDir('kiln-progress-');
const root = join(tmp.path, 'store');

function context(name: string, dockerfile: string): string {
  const dir = join(tmp.path, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

let ok = '';
let failing = '';

beforeAll(() => {
  storeWithBusybox(root);
  ok = context('ok', 'FROM busybox\nRUN echo built-ok > /ok\nRUN echo second-step\n');
  // 3000 lines (~130 KiB), far more than the 8 KiB tail a step error keeps.
  failing = context(
    'failing',
    'FROM busybox\nRUN for i in $(seq 1 3000); do echo "line $i of a long failing step"; done; exit 3\n',
  );
});
afterAll(() => tmp.cleanup());

describe('kiln build --progress', () => {
  it('rawjson writes one JSON event per line on stderr', () => {
    const r = kiln(root, ['build', '--no-cache', '--progress', 'rawjson', ok]);
    expect(r.status).toBe(0);
    const events = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.every((e) => typeof e.time === 'string' && typeof e.id === 'number')).toBe(true);
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['step-start', 'step-log', 'step-done']),
    );
    expect(events).toContainEqual(expect.objectContaining({ type: 'step-log', text: 'second-step\n' }));
  });

  it('quiet prints nothing on stderr but the digest on stdout', () => {
    const r = kiln(root, ['build', '--progress', 'quiet', ok]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('tty draws a live view under a real pseudo-terminal: step names, DONE and CACHED', () => {
    kiln(root, ['build', ok]);
    const r = spawnSync(
      'script',
      ['-qfec', `${kilnBin} --root ${root} build --progress auto ${ok}`, '/dev/null'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/=> \[1\/3\] FROM busybox +DONE/);
    expect(r.stdout).toMatch(/=> \[2\/3\] RUN echo built-ok > \/ok +CACHED/);
    expect(r.stdout).toMatch(/\[\+\] Building [\d.]+s \(3\/3\) FINISHED/);
    expect(r.stdout).not.toMatch(/^#\d+ /m);
  });

  it('on failure without --log-file, the error shows the whole output of the failing step', () => {
    const r = kiln(root, ['build', '--progress', 'quiet', failing]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/exit code: 3/);
    expect(r.stderr).toMatch(/^line 1 of a long failing step$/m);
    expect(r.stderr).toMatch(/^line 3000 of a long failing step$/m);
  });

  it('--log-file holds every line of every step; the error shows the tail and points to it', () => {
    const log = join(tmp.path, 'build.log');
    const r = kiln(root, ['build', '--progress', 'quiet', '--log-file', log, failing]);
    expect(r.status).toBe(1);
    const text = readFileSync(log, 'utf8');
    expect(text).toMatch(/^#1 \[1\/2\] FROM busybox$/m);
    expect(text).toMatch(/^#2 [\d.]+ line 1 of a long failing step$/m);
    expect(text.match(/^#2 [\d.]+ line \d+ of a long failing step$/gm)).toHaveLength(3000);
    expect(r.stderr).toMatch(/^line 3000 of a long failing step$/m);
    expect(r.stderr).not.toMatch(/^line 1 of a long failing step$/m);
    expect(r.stderr).toContain(`all of it is in ${log}`);
  });
});
