import { clampLayerPath, normaliseLayerPath } from './layer-path.js';

describe('clampLayerPath', () => {
  it.each([
    ['usr/bin', 'usr/bin'],
    ['./usr//bin/', 'usr/bin'],
    ['/abs/file.txt', 'abs/file.txt'],
    ['../../escape.txt', 'escape.txt'],
    ['./a/../../b', 'b'],
    ['c/../../../d/e', 'd/e'],
    ['a/b/../c', 'a/c'],
    ['/', ''],
    ['..', ''],
  ])('cleans %j to %j, never above the root', (path, clean) => {
    expect(clampLayerPath(path)).toBe(clean);
  });

  it('rejects a NUL byte', () => {
    expect(() => clampLayerPath('a\0b')).toThrow(expect.objectContaining({ code: 'UNSAFE_PATH' }));
  });
});

describe('normaliseLayerPath', () => {
  it('rejects what clampLayerPath cleans, naming the path once', () => {
    expect(() => normaliseLayerPath('/abs', 'tar entry')).toThrow('tar entry "/abs" is absolute');
    expect(() => normaliseLayerPath('../x', 'tar entry')).toThrow(
      'tar entry "../x" escapes the root with ".."',
    );
  });
});
