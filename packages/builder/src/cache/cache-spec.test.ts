import { parseCacheExportSpec, parseCacheImportSpec } from './cache-spec.js';

describe('parseCacheExportSpec', () => {
  it.each([
    [
      'type=registry,ref=r:5000/c:main,mode=max',
      { type: 'registry', ref: 'r:5000/c:main', mode: 'max', mounts: false },
    ],
    ['type=registry,ref=r/c', { type: 'registry', ref: 'r/c', mode: 'min', mounts: false }],
    ['r/c:tag', { type: 'registry', ref: 'r/c:tag', mode: 'min', mounts: false }],
    ['type=local,dest=/tmp/c,mode=min', { type: 'local', dest: '/tmp/c', mode: 'min', mounts: false }],
    [
      'type=registry,ref=r/c,mode=max,mounts=true',
      { type: 'registry', ref: 'r/c', mode: 'max', mounts: true },
    ],
    ['type=inline', { type: 'inline' }],
  ])('%s', (text, spec) => {
    expect(parseCacheExportSpec(text)).toEqual(spec);
  });

  it.each([
    ['type=gha', /unsupported --cache-to type "gha"/],
    ['type=registry,ref=r/c,mode=all', /mode=all: expected min or max/],
    ['type=registry', /needs ref=/],
    ['type=local,src=/x', /has no field "src"/],
    ['type=inline,mode=max', /has no field "mode"/],
    ['type=local,dest=/c,mounts=yes', /mounts=yes: expected true or false/],
    ['type=inline,mounts=true', /has no field "mounts"/],
  ])('%s is refused', (text, message) => {
    expect(() => parseCacheExportSpec(text)).toThrow(message);
  });
});

describe('parseCacheImportSpec', () => {
  it('reads registry and local sources', () => {
    expect(parseCacheImportSpec('type=registry,ref=r/c:main')).toEqual({ type: 'registry', ref: 'r/c:main' });
    expect(parseCacheImportSpec('r/c:main')).toEqual({ type: 'registry', ref: 'r/c:main' });
    expect(parseCacheImportSpec('type=local,src=/c')).toEqual({ type: 'local', src: '/c' });
    expect(() => parseCacheImportSpec('type=local,dest=/c')).toThrow(/has no field "dest"/);
    expect(() => parseCacheImportSpec('type=inline')).toThrow(/unsupported --cache-from type "inline"/);
  });
});
