import { parsePushArgv } from './parse-push-argv.js';

const none = { insecureRegistries: [], registryCaFiles: [] };

it('reads push NAME [DEST] with the global options before, between or after, in both spellings', () => {
  expect(parsePushArgv(['push', 'app:1'])).toEqual({ ...none, name: 'app:1' });
  expect(parsePushArgv(['--root', '/s', 'push', 'app', 'reg:5000/app:2'])).toEqual({
    ...none,
    root: '/s',
    name: 'app',
    dest: 'reg:5000/app:2',
  });
  expect(
    parsePushArgv([
      '--insecure-registry=a:1',
      'push',
      '--registry-ca',
      '/ca.pem',
      'app',
      '--insecure-registry',
      'b:2',
      'reg/app',
      '--root=/s',
      '--registry-ca=/other.pem',
    ]),
  ).toEqual({
    root: '/s',
    insecureRegistries: ['a:1', 'b:2'],
    registryCaFiles: ['/ca.pem', '/other.pem'],
    name: 'app',
    dest: 'reg/app',
  });
  // An `=` after the first belongs to the value.
  expect(parsePushArgv(['--root=/a=b', 'push', 'app'])?.root).toBe('/a=b');
});

it('declines every other command line, which the whole CLI then parses', () => {
  const declined: string[][] = [
    [],
    ['build', '.'],
    ['push'],
    ['push', 'a', 'b', 'c'],
    ['images', 'push'],
    ['push', 'app', '--help'],
    ['--version', 'push', 'app'],
    ['push', '-h', 'app'],
    ['push', 'app', '--', 'dest'],
    ['push', 'app', '-'],
    ['push', ''],
    ['push', 'app', '--bogus'],
    ['push', 'app', '--insecureRegistry', 'h'],
    ['push', 'app', '--no-root'],
    ['push', 'app', '--root'],
    ['push', 'app', '--root='],
    ['push', 'app', '--root', '--insecure-registry', 'h'],
    ['push', 'app', '--root', '/a', '--root', '/b'],
    ['push', 'app', '--registry-ca'],
    ['push', 'app', '--insecure-registry'],
    ['push', 'app', '--insecure-registry='],
    ['--root', '', 'push', 'app'],
    ['push', 'app', '--insecure-registry', '-x'],
    ['--root.x', '/s', 'push', 'app'],
    ['--toString', 'x', 'push', 'app'],
  ];
  for (const args of declined) expect([args, parsePushArgv(args)]).toEqual([args, undefined]);
});
