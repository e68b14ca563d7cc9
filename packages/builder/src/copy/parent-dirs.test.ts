import type { Digest, FileHeader } from '@kiln/oci';
import type { StepContext } from '../steps/step-context.js';
import { parentDirs } from './parent-dirs.js';
import type { CopyEntry } from './plan-copy.js';

// The image's filesystem is a fake here (parentDirs only asks it for one path at a time); the
// logic under test is which directories get asked for and in what order.

const at = { location: { file: 'Dockerfile', line: 3, column: 1 } } as const;

function context(image: Record<string, Partial<FileHeader>>, asked: string[]): StepContext {
  const snapshotter = {
    stat(_lowers: readonly Digest[], path: string): Promise<FileHeader | undefined> {
      asked.push(path);
      const found = image[path];
      return Promise.resolve(
        found && {
          path,
          type: 'directory',
          mode: 0o700,
          uid: 5,
          gid: 6,
          size: 0,
          mtime: new Date(9),
          ...found,
        },
      );
    },
  };
  return { snapshotter, sourceDateEpoch: 0 } as unknown as StepContext;
}

const entry = (path: string, type: FileHeader['type'] = 'file'): CopyEntry => ({
  header: { path, type, mode: 0o644, uid: 0, gid: 0, size: 0, mtime: new Date(0) },
});

it('adds every missing ancestor once, sorted, keeping the image’s own directories as they are', async () => {
  const asked: string[] = [];
  const entries = [
    entry('app/lib/x/1'),
    entry('app/lib/x/2'),
    entry('app/lib/y', 'directory'),
    entry('app/lib/y/3'),
    entry('top'),
    entry('app/lib/x/4'),
  ];
  const out = await parentDirs(entries, [], context({ app: {} }, asked), at);
  expect(asked).toEqual(['app', 'app/lib', 'app/lib/x']);
  expect(out.map((e) => e.header)).toEqual([
    { path: 'app', type: 'directory', mode: 0o700, uid: 5, gid: 6, size: 0, mtime: new Date(9) },
    { path: 'app/lib', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: new Date(0) },
    { path: 'app/lib/x', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: new Date(0) },
  ]);
});

it('leaves out parents the COPY itself plans, even when planned after their contents', async () => {
  const asked: string[] = [];
  const out = await parentDirs(
    [entry('a/b/c'), entry('a/b', 'directory'), entry('a', 'directory')],
    [],
    context({}, asked),
    at,
  );
  expect(out).toEqual([]);
  expect(asked).toEqual([]);
});

it('refuses to copy below something the image has that is not a directory', async () => {
  const ctx = context({ etc: { type: 'file' } }, []);
  await expect(parentDirs([entry('etc/conf')], [], ctx, at)).rejects.toMatchObject({
    code: 'INVALID_INSTRUCTION',
    message: expect.stringContaining('"/etc"'),
  });
});

it('gives the directories it creates the owner asked for, and only those', async () => {
  const out = await parentDirs([entry('app/lib/x')], [], context({ app: {} }, []), {
    ...at,
    owner: { uid: 1000, gid: 1001 },
  });
  expect(out.map((e) => [e.header.path, e.header.uid, e.header.gid])).toEqual([
    ['app', 5, 6],
    ['app/lib', 1000, 1001],
  ]);
});
