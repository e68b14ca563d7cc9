import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, kilnBin, run, storeWithBusybox, tempDir } from './support/kiln.js';

// `--output` types, `--iidfile`, `--metadata-file` and `--label`, each read back by an
// independent tool: the filesystem itself, GNU tar, skopeo and umoci.

const tmp = tempDir('kiln-outputs-');
const root = join(tmp.path, 'store');
const ctx = join(tmp.path, 'ctx');
const out = (name: string): string => join(tmp.path, name);

// Hardlink, symlink, owner and mode set in one layer; a file whited out by the next.
const DOCKERFILE = `FROM busybox
RUN mkdir -p /data && echo hello > /data/a && ln /data/a /data/b && ln -s a /data/c \\
 && chown 1234:5678 /data/a && chmod 640 /data/a && echo gone > /data/d
RUN rm /data/d
LABEL from.dockerfile=yes
`;

let digest = '';

beforeAll(() => {
  storeWithBusybox(root);
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
  const r = kiln(root, [
    'build',
    '--progress=plain',
    '-t',
    'outs:1',
    '-t',
    'outs:2',
    '--label',
    'org.example.a=b',
    '--label',
    'from.dockerfile=no',
    '--output',
    `type=local,dest=${out('local')}`,
    '--output',
    `type=tar,dest=${out('rootfs.tar')}`,
    '--output',
    `type=docker,dest=${out('docker.tar')},name=example.com/outs:d`,
    '--output',
    `type=oci,dest=${out('layout')},tar=false`,
    '--iidfile',
    out('iid'),
    '--metadata-file',
    out('metadata.json'),
    ctx,
  ]);
  if (r.status !== 0) throw new Error(`build failed:\n${r.stderr}`);
  digest = r.stdout.trim();
});
afterAll(() => tmp.cleanup());

describe('kiln build --output', () => {
  it('type=local writes the final rootfs with owners, modes, hardlinks, symlinks and whiteouts applied', () => {
    const data = join(out('local'), 'data');
    const a = lstatSync(join(data, 'a'));
    expect([a.uid, a.gid, a.mode & 0o7777]).toEqual([1234, 5678, 0o640]);
    expect(lstatSync(join(data, 'b')).ino).toBe(a.ino);
    expect(readlinkSync(join(data, 'c'))).toBe('a');
    expect(existsSync(join(data, 'd'))).toBe(false);
    expect(readFileSync(join(data, 'a'), 'utf8')).toBe('hello\n');
    expect(lstatSync(join(out('local'), 'bin', 'busybox')).isFile()).toBe(true);
  });

  it('type=tar writes the same rootfs as one tar GNU tar lists', () => {
    const listing = run('tar', ['tvf', out('rootfs.tar'), '--numeric-owner']);
    expect(listing).toMatch(/^-rw-r----- 1234\/5678 +6 .* data\/a$/m);
    expect(listing).toMatch(/^h.* data\/b link to data\/a$/m);
    expect(listing).toMatch(/^l.* data\/c -> a$/m);
    expect(listing).not.toMatch(/data\/d|\.wh\./);
    expect(listing).toMatch(/ bin\/busybox$/m);
  });

  it('type=tar,dest=- streams the rootfs tar to stdout, and nothing else', () => {
    const r = spawnSync(kilnBin, ['--root', root, 'build', '-q', '--output', '-', ctx], {
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(r.status).toBe(0);
    const listing = spawnSync('tar', ['tf', '-'], { input: r.stdout, encoding: 'utf8' });
    expect(listing.status).toBe(0);
    expect(listing.stdout.split('\n')).toEqual(expect.arrayContaining(['data/a', 'data/b', 'bin/busybox']));
  });

  it('type=docker writes an archive skopeo reads, with the given name and the labels', () => {
    const info = JSON.parse(run('skopeo', ['inspect', `docker-archive:${out('docker.tar')}`])) as {
      Labels: Record<string, string>;
    };
    expect(info.Labels).toEqual({ 'from.dockerfile': 'no', 'org.example.a': 'b' });
    const manifest = JSON.parse(
      spawnSync('tar', ['xOf', out('docker.tar'), 'manifest.json'], { encoding: 'utf8' }).stdout,
    ) as Array<{ RepoTags: string[] }>;
    expect(manifest[0]?.RepoTags).toEqual(['example.com/outs:d']);
  });

  it('type=oci still writes a layout umoci unpacks', () => {
    const bundle = out('bundle');
    run('umoci', ['unpack', '--image', `${out('layout')}:1`, bundle]);
    expect(readFileSync(join(bundle, 'rootfs', 'data', 'a'), 'utf8')).toBe('hello\n');
    expect(existsSync(join(bundle, 'rootfs', 'data', 'd'))).toBe(false);
  });

  it('--iidfile holds the config digest and --metadata-file the digests and names, as buildx writes them', () => {
    const raw = JSON.parse(run('skopeo', ['inspect', '--raw', `oci:${out('layout')}:1`])) as {
      config: { digest: string };
    };
    expect(readFileSync(out('iid'), 'utf8')).toBe(raw.config.digest);
    const meta = JSON.parse(readFileSync(out('metadata.json'), 'utf8')) as Record<string, unknown>;
    expect(meta['containerimage.digest']).toBe(digest);
    expect(meta['containerimage.config.digest']).toBe(raw.config.digest);
    expect(meta['image.name']).toBe('outs:1,outs:2');
  });

  it('rejects an unknown output type with a usage error and builds nothing', () => {
    const r = kiln(root, ['build', '--output', 'type=cacheonly,dest=x', ctx]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/unsupported output type "cacheonly"/);
  });
});
