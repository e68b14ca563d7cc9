import { parseChmod } from './parse-chmod.js';

describe('parseChmod', () => {
  it.each([
    ['755', 0o644, false, 0o755],
    ['0600', 0o777, true, 0o600],
    ['u+x', 0o644, false, 0o744],
    ['go-w', 0o666, false, 0o644],
    ['a+X', 0o644, false, 0o644],
    ['a+X', 0o644, true, 0o755],
    ['a+X', 0o744, false, 0o755],
    ['o=r,g=', 0o777, false, 0o704],
    ['+x', 0o600, false, 0o711],
    ['u+s', 0o755, false, 0o4755],
  ])('%s on %o (dir: %s) → %o', (spec, mode, isDir, expected) => {
    expect(parseChmod(spec)?.(mode, isDir)).toBe(expected);
  });

  it.each(['999', 'u+q', 'x+r', 'u+x;', ''])('rejects %j', (spec) => {
    expect(parseChmod(spec)).toBeUndefined();
  });
});
