import { expandWord, expandWords } from './index.js';

const vars = new Map([
  ['A', 'a'],
  ['EMPTY', ''],
  ['SP', 'x y'],
]);

describe('expandWord', () => {
  it.each([
    ['$A', 'a'],
    ['${A}b', 'ab'],
    ['pre$A/$B.', 'prea/.'],
    ["'$A'", '$A'],
    ['"$A $SP"', 'a x y'],
    ['\\$A', '$A'],
    ['${B:-dflt}', 'dflt'],
    ['${EMPTY:-dflt}', 'dflt'],
    ['${EMPTY-dflt}', ''],
    ['${A:+set}', 'set'],
    ['${B:+set}', ''],
    ['${A+set}', 'set'],
    ['"a\\"b"', 'a"b'],
    ['"a\\b"', 'a\\b'],
    ['$', '$'],
    ['a$-b', 'ab'], // `$-` is a special parameter, never set
    ['a$.b', 'a$.b'],
  ])('%s → %s', (word, expected) => {
    expect(expandWord(word, vars)).toBe(expected);
  });

  it('uses the escape character given', () => {
    expect(expandWord('`$A', vars, '`')).toBe('$A');
  });

  it('rejects malformed input', () => {
    expect(() => expandWord('"open', vars)).toThrow(/double-quote/);
    expect(() => expandWord('${A', vars)).toThrow(/missing/);
    expect(() => expandWord('${B:?must be set}', vars)).toThrow(/B: must be set/);
  });
});

describe('pattern operators', () => {
  const v = new Map([
    ['P', '/usr/local/lib.tar.gz'],
    ['S', 'aXbXc'],
  ]);
  it.each([
    ['${P#*/}', 'usr/local/lib.tar.gz'],
    ['${P##*/}', 'lib.tar.gz'],
    ['${P%.*}', '/usr/local/lib.tar'],
    ['${P%%.*}', '/usr/local/lib'],
    ['${P#/usr}', '/local/lib.tar.gz'],
    ['${P%\\.gz}', '/usr/local/lib.tar'],
    ['${P##*[/]}', 'lib.tar.gz'],
    ['${S/X/-}', 'a-bXc'],
    ['${S//X/-}', 'a-b-c'],
    ['${S//?/.}', '.....'],
    ['${S/[!a]/}', 'abXc'],
    ['${UNSET#x}', ''],
  ])('%s → %s', (word, expected) => {
    expect(expandWord(word, v)).toBe(expected);
  });

  it('rejects :# and :%', () => {
    expect(() => expandWord('${P:#x}', v)).toThrow(/unsupported modifier/);
  });
});

describe('expandWords', () => {
  it('splits on unquoted blanks, including those from variable values', () => {
    expect(expandWords('a${SP}b "c d" e\\ f', vars)).toEqual(['ax', 'yb', 'c d', 'e f']);
  });
});
