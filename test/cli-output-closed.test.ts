import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, kilnBin, storeWithBusybox, tempDir, writeContext } from './support/kiln.js';

// A reader that goes away (`kiln images | head -1`) ends kiln as SIGPIPE ends a Unix tool: no
// error message, exit status 141; a build is aborted as by Ctrl-C, so its store stays whole.
const tmp = tempDir('kiln-output-closed-');
const root = join(tmp.path, 'store');
beforeAll(() => storeWithBusybox(root));
afterAll(() => tmp.cleanup());

/**
 * Runs `kiln --root ROOT ARGS | READER` in bash (with `2>&1` before the pipe when `both`): kiln's
 * status and stderr (when not piped), and what the reader printed.
 */
function piped(args: string, reader: string, both = false): { status: string; stderr: string; read: string } {
  const err = join(tmp.path, `stderr-${Math.random().toString(36).slice(2)}`);
  const redirect = both ? '2>&1' : `2>"${err}"`;
  const r = spawnSync(
    'bash',
    [
      '-c',
      `: >"${err}"; "${kilnBin}" --root "${root}" ${args} ${redirect} | ${reader}; echo "status \${PIPESTATUS[0]}"`,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  const lines = r.stdout.trimEnd().split('\n');
  return {
    status: lines.pop() ?? '',
    read: lines.join('\n'),
    stderr: readFileSync(err, 'utf8'),
  };
}

it('`kiln images | true`: no error, status 141', () => {
  // `true` is gone before kiln writes: its first write meets EPIPE.
  expect(piped('images', 'true')).toEqual({ status: 'status 141', stderr: '', read: '' });
  // The same command into a reader that stays prints as before.
  expect(piped('images', 'cat')).toMatchObject({ status: 'status 0', stderr: '' });
});

it('`kiln push` through its own bundle does the same when its reader is gone', () => {
  // No registry listens on port 1: the push fails, but its error goes to a closed stderr.
  const r = spawnSync(
    'bash',
    ['-c', `"${kilnBin}" --root "${root}" push busybox 127.0.0.1:1/x 2>&1 | true; echo "\${PIPESTATUS[0]}"`],
    { encoding: 'utf8', timeout: 60_000 },
  );
  expect(r.stdout.trim()).toBe('141');
});

it('a build whose progress reader goes away is aborted, and its store verifies', () => {
  const ctx = writeContext(
    tmp.path,
    'ticks',
    // Prints for a minute: every line is a write that meets the closed pipe.
    'FROM busybox\nRUN i=0; while [ $i -lt 300 ]; do echo tick $i; sleep 0.2; i=$((i+1)); done\n',
  );
  const r = piped(`build --progress plain -t ticks:1 ${ctx}`, 'head -3', true);
  expect(r).toMatchObject({ status: 'status 141', stderr: '' });
  expect(r.read.split('\n')).toHaveLength(3);
  expect(kiln(root, ['images']).stdout).not.toContain('ticks');
  const verify = kiln(root, ['store', 'verify']);
  expect(verify.status).toBe(0);
  expect(spawnSync('grep', ['-c', root, '/proc/self/mounts'], { encoding: 'utf8' }).stdout.trim()).toBe('0');
});
