import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, storeWithBusybox, tempDir, writeContext } from './support/kiln.js';

// A rebuild that runs no step must leave the store as it was: same image (digest, creation time),
// no new blob, index.json untouched. Anything that changes the image still makes a new one.
const tmp = tempDir('kiln-cached-rebuild-');
const root = join(tmp.path, 'store');
let ctx = '';

beforeAll(() => {
  storeWithBusybox(root);
  ctx = writeContext(tmp.path, 'ctx', 'FROM busybox\nRUN echo hello > /hello.txt\nCOPY app.txt /app.txt\n', {
    'app.txt': 'one\n',
  });
});
afterAll(() => tmp.cleanup());

function build(args: readonly string[], env: NodeJS.ProcessEnv = {}): string {
  const r = kiln(root, ['build', '-q', ...args, ctx], env);
  if (r.status !== 0) throw new Error(`kiln build failed: ${r.stderr}`);
  return r.stdout.trim();
}

function storeState(): { blobs: string[]; index: string } {
  const index = statSync(join(root, 'index.json'));
  return {
    blobs: readdirSync(join(root, 'blobs', 'sha256')).sort(),
    index: `${index.ino}:${index.mtimeMs}:${index.size}`,
  };
}

function created(tag: string): string {
  const r = kiln(root, ['inspect', tag]);
  expect(r.status).toBe(0);
  return (JSON.parse(r.stdout) as { config: { created: string } }).config.created;
}

describe('a rebuild that hits the cache on every step', () => {
  it('keeps the tagged image and writes nothing to the store', () => {
    const first = build(['-t', 'app:1']);
    const before = storeState();
    const when = created('app:1');
    const again = build(['-t', 'app:1']);
    expect(again).toBe(first);
    expect(storeState()).toEqual(before);
    expect(created('app:1')).toBe(when);
  });

  it('still makes a new image when a label, the content or the tag differs', () => {
    const first = build(['-t', 'app:2']);
    const labelled = build(['-t', 'app:2', '--label', 'x=1']);
    expect(labelled).not.toBe(first);
    expect(build(['-t', 'app:2', '--label', 'x=1'])).toBe(labelled);
    writeFileSync(join(ctx, 'app.txt'), 'two\n');
    const changed = build(['-t', 'app:2', '--label', 'x=1']);
    expect(changed).not.toBe(labelled);
    // Another tag has no image to compare with: the build's own (new timestamps) is stored.
    expect(build(['-t', 'app:3', '--label', 'x=1'])).not.toBe(changed);
  });

  it('with SOURCE_DATE_EPOCH compares timestamps too', () => {
    const at1 = build(['-t', 'app:4'], { SOURCE_DATE_EPOCH: '1000' });
    expect(build(['-t', 'app:4'], { SOURCE_DATE_EPOCH: '1000' })).toBe(at1);
    expect(build(['-t', 'app:4'], { SOURCE_DATE_EPOCH: '2000' })).not.toBe(at1);
  });
});
