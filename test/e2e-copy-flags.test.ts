import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, run, storeWithBusybox, tempDir, writeContext } from './support/kiln.js';

const tmp = tempDir('kiln-copyflags-');
const root = join(tmp.path, 'store');

beforeAll(() => storeWithBusybox(root));
afterAll(() => tmp.cleanup());

describe('COPY --chmod, --exclude, --parents', () => {
  it('applies them as BuildKit does', () => {
    const ctx = writeContext(
      tmp.path,
      'flags',
      [
        'FROM busybox',
        'COPY --chmod=u+x,go-w tool.sh /bin/tool.sh',
        'COPY --chmod=a+rX,go-w dir/ /sym/',
        'COPY --exclude=*.log --exclude=**/secret.txt app/ /app/',
        'COPY --parents src/a/one.txt src/b/*.txt /p/',
        'COPY --parents ./src/./a/one.txt /marker/',
      ].join('\n'),
      {
        'tool.sh': '#!/bin/sh\n',
        'dir/sub/f': 'f',
        'app/main.js': 'main',
        'app/debug.log': 'log',
        'app/deep/secret.txt': 'secret',
        'app/deep/kept.txt': 'kept',
        'src/a/one.txt': 'one',
        'src/b/two.txt': 'two',
      },
    );
    const layout = join(tmp.path, 'layout');
    const r = kiln(root, [
      'build',
      '-q',
      '-t',
      'flags:t',
      '--output',
      `type=oci,dest=${layout},tar=false`,
      ctx,
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const bundle = join(tmp.path, 'bundle');
    run('umoci', ['unpack', '--image', `${layout}:t`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    const mode = (p: string) => statSync(join(rootfs, p)).mode & 0o7777;
    expect(mode('bin/tool.sh')).toBe(0o744);
    expect(mode('sym/sub')).toBe(0o755);
    expect(mode('sym/sub/f')).toBe(0o644);
    expect(existsSync(join(rootfs, 'app', 'main.js'))).toBe(true);
    expect(existsSync(join(rootfs, 'app', 'debug.log'))).toBe(false);
    expect(existsSync(join(rootfs, 'app', 'deep', 'secret.txt'))).toBe(false);
    expect(readFileSync(join(rootfs, 'app', 'deep', 'kept.txt'), 'utf8')).toBe('kept');
    expect(readFileSync(join(rootfs, 'p', 'src', 'a', 'one.txt'), 'utf8')).toBe('one');
    expect(readFileSync(join(rootfs, 'p', 'src', 'b', 'two.txt'), 'utf8')).toBe('two');
    expect(readFileSync(join(rootfs, 'marker', 'a', 'one.txt'), 'utf8')).toBe('one');
  });

  it('rejects an invalid --chmod with the line', () => {
    const ctx = writeContext(tmp.path, 'badchmod', 'FROM busybox\nCOPY --chmod=u+q f /f\n', { f: 'x' });
    const r = kiln(root, ['build', ctx]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Dockerfile:2:1: invalid --chmod=u+q');
  });
});
