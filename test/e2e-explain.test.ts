import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, storeWithBusybox, tempDir } from './support/kiln.js';

const tmp = tempDir('kiln-explain-');
const root = join(tmp.path, 'store');
const ctx = join(tmp.path, 'ctx');

beforeAll(() => {
  storeWithBusybox(root);
  mkdirSync(join(ctx, 'src'), { recursive: true });
  writeFileSync(
    join(ctx, 'Dockerfile'),
    'FROM busybox\nCOPY src/ /app/src/\nRUN cat /app/src/main.ts > /m\nARG VERSION=1.2\nRUN echo $VERSION > /v\n',
  );
  writeFileSync(join(ctx, 'src', 'main.ts'), 'one\n');
  writeFileSync(join(ctx, 'src', 'util.ts'), 'util\n');
});
afterAll(() => tmp.cleanup());

describe('explaining cache misses', () => {
  it('names the changed file, the changed ARG and the earlier step that changed', () => {
    expect(kiln(root, ['build', '-q', ctx]).status).toBe(0);
    writeFileSync(join(ctx, 'src', 'main.ts'), 'two\n');
    writeFileSync(join(ctx, 'src', 'new.ts'), 'new\n');
    const r = kiln(root, ['build', '--progress', 'plain', '--build-arg', 'VERSION=1.3', ctx]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^#\d+ cache miss: app\/src\/main\.ts changed; app\/src\/new\.ts added$/m);
    expect(r.stderr).toMatch(/^#\d+ cache miss: env VERSION: 1\.2 → 1\.3$/m);
    expect(r.stderr).toMatch(/^#\d+ cache miss: an earlier step changed$/m);
  });

  it('says nothing for hits, and reports a miss whose inputs are unchanged as a lost cache entry', () => {
    const hit = kiln(root, ['build', '--progress', 'plain', '--build-arg', 'VERSION=1.3', ctx]);
    expect(hit.stderr).not.toContain('cache miss');
    const noCache = kiln(root, [
      'build',
      '--progress',
      'plain',
      '--no-cache',
      '--build-arg',
      'VERSION=1.3',
      ctx,
    ]);
    expect(noCache.stderr).toContain('cache miss: the cache entry is gone');
  });

  it('--explain lists the rebuilt steps and their reasons after the build', () => {
    writeFileSync(join(ctx, 'src', 'util.ts'), 'util changed\n');
    const r = kiln(root, ['build', '-q', '--explain', '--build-arg', 'VERSION=1.3', ctx]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('Cache misses against the last build of this Dockerfile and target:');
    expect(r.stderr).toMatch(/\[2\/4\] COPY src\/ \/app\/src\/\n {4}- app\/src\/util\.ts changed/);
  });
});
