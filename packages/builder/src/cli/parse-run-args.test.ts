import { parseRunArgs, parseVolumeFlag } from './parse-run-args.js';

it('stops at IMAGE: what follows is the command, untouched', () => {
  const r = parseRunArgs(['--rm', '-it', '-eA=1', '--env=B', '-u', '1000', 'img', 'ls', '-la', '--rm'], {
    B: 'b',
  });
  expect(r.interactive).toBe(true);
  expect(r.options).toMatchObject({
    image: 'img',
    command: ['ls', '-la', '--rm'],
    env: ['A=1', 'B=b'],
    tty: true,
    autoRemove: true,
    user: '1000',
  });
});

it('reads --env-file lines, skipping comments and unset names', () => {
  const r = parseRunArgs(['--env-file', 'f', 'img'], {}, () => '# c\n\nK=V\nUNSET\n');
  expect(r.options.env).toEqual(['K=V']);
});

it('tells bind paths, named volumes and anonymous volumes apart in -v', () => {
  expect(parseVolumeFlag('/h:/c:ro')).toEqual({
    type: 'bind',
    source: '/h',
    target: '/c',
    readonly: true,
    create: true,
  });
  expect(parseVolumeFlag('data:/c')).toEqual({ type: 'volume', name: 'data', target: '/c', readonly: false });
  expect(parseVolumeFlag('/c')).toEqual({ type: 'volume', target: '/c', readonly: false });
});

it('takes --root once, with a path', () => {
  expect(parseRunArgs(['--root', '/s', 'img'], {}).root).toBe('/s');
  expect(() => parseRunArgs(['--root', '/a', '--root=/b', 'img'], {})).toThrow('--root was given twice');
  expect(() => parseRunArgs(['--root=', 'img'], {})).toThrow('--root needs a path');
  expect(() => parseRunArgs(['--root'], {})).toThrow('flag --root needs a value');
});

it('rejects unknown flags and a missing IMAGE', () => {
  expect(() => parseRunArgs(['--bogus', 'img'], {})).toThrow('unknown flag: --bogus');
  expect(() => parseRunArgs(['--rm'], {})).toThrow('requires at least 1 argument');
});
