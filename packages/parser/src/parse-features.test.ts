import { DockerfileError, chompHeredoc, parseDockerfile, type Instruction } from './index.js';

const parse = (text: string) => parseDockerfile(text, { file: 'Dockerfile' });
const second = (text: string): Instruction | undefined => parse(`FROM scratch\n${text}`).instructions[1];
const failure = (text: string): DockerfileError => {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof DockerfileError) return err;
    throw err;
  }
  throw new Error('expected a DockerfileError');
};

describe('heredocs', () => {
  it('reads a RUN body, keeps the <<EOF word and ends the range at the terminator', () => {
    const run = second('RUN <<EOF\necho $HOME\n\tdone\nEOF\nUSER me');
    expect(run).toMatchObject({
      kind: 'run',
      command: { form: 'shell', text: '<<EOF' },
      heredocs: [{ name: 'EOF', content: 'echo $HOME\n\tdone\n', expand: true, chomp: false }],
      range: { start: { line: 2 }, end: { line: 5 } },
    });
  });

  it('quoted delimiters turn expansion off; <<- chomps; several per line are read in order', () => {
    const copy = second('COPY <<-\'A\' <<B"x" /dst/\n\tone\n\tA\ntwo\nBx\n');
    expect(copy).toMatchObject({
      kind: 'copy',
      sources: [],
      dest: '/dst/',
      heredocs: [
        { name: 'A', content: '\tone\n', expand: false, chomp: true },
        { name: 'Bx', content: 'two\n', expand: false, chomp: false },
      ],
    });
    expect(chompHeredoc('\tone\n\t\ttwo\n')).toBe('one\ntwo\n');
  });

  it('keeps file descriptors and CRLF bodies', () => {
    const run = second('RUN 3<<EOF cat /dev/fd/3\r\nx\r\nEOF\r\n');
    expect(run).toMatchObject({ heredocs: [{ name: 'EOF', content: 'x\r\n', fileDescriptor: 3 }] });
  });

  it('reports an unterminated heredoc', () => {
    const e = failure('FROM scratch\nRUN <<EOF\necho hi\n');
    expect(e.code).toBe('DOCKERFILE_UNTERMINATED_HEREDOC');
    expect(e.message).toContain('Dockerfile:2:1: unterminated heredoc "EOF"');
  });

  it('ignores << in the JSON form', () => {
    expect(second('RUN ["cat", "<<EOF"]')).toMatchObject({ heredocs: [] });
  });
});

describe('directives, BOM and CRLF', () => {
  it('reads syntax, escape and check; a BOM and CRLF line ends are fine', () => {
    const df = parse(
      '\uFEFF# syntax=docker/dockerfile:1\r\n# check=skip=all\r\n# escape=`\r\nFROM scratch\r\nRUN a `\r\n  b\r\n',
    );
    expect([...df.directives]).toEqual([
      ['syntax', 'docker/dockerfile:1'],
      ['check', 'skip=all'],
      ['escape', '`'],
    ]);
    expect(df.instructions[1]).toMatchObject({ command: { text: 'a   b' } });
  });

  it('rejects a repeated directive and a bad escape character', () => {
    expect(failure('# escape=`\n# escape=\\\nFROM scratch').message).toContain(
      'Dockerfile:2:1: only one escape parser directive can be used',
    );
    expect(failure('# escape=x\nFROM scratch').code).toBe('DOCKERFILE_BAD_DIRECTIVE');
  });

  it('stops looking for directives after another comment', () => {
    expect(parse('# hello\n# escape=`\nFROM scratch').escape).toBe('\\');
  });
});

describe('flags', () => {
  it('types FROM, RUN and COPY flags', () => {
    const df = parse(
      [
        'FROM --platform=$BUILDPLATFORM alpine AS base',
        'RUN --network=none --security=insecure --mount=type=cache,target=/root/.cache,sharing=locked \\',
        '    --mount=type=secret,id=tok,required echo hi',
        'COPY --from=base --chown=1:2 --chmod=644 --link --parents --exclude=*.md --exclude=x "a" /d/',
      ].join('\n'),
    );
    const [from, run, copy] = df.instructions;
    expect(from).toMatchObject({ platform: '$BUILDPLATFORM', stageName: 'base' });
    expect(run).toMatchObject({
      network: 'none',
      security: 'insecure',
      command: { form: 'shell', text: 'echo hi' },
      mounts: [
        { type: 'cache', target: '/root/.cache', sharing: 'locked', readOnly: false },
        { type: 'secret', id: 'tok', required: true },
      ],
    });
    expect(copy).toMatchObject({
      from: 'base',
      chown: '1:2',
      chmod: '644',
      link: true,
      parents: true,
      exclude: ['*.md', 'x'],
      sources: ['"a"'],
    });
  });

  it('types ADD flags', () => {
    expect(
      second('ADD --checksum=sha256:abc --keep-git-dir --unpack=false https://x/a.tgz /d'),
    ).toMatchObject({
      kind: 'add',
      checksum: 'sha256:abc',
      keepGitDir: true,
      unpack: false,
      link: false,
    });
  });

  it('reports unknown, duplicate and valueless flags, every one of them', () => {
    const e = failure(
      'FROM scratch\nCOPY --form=x a b\nRUN --network=host --network=none x\nCMD --doit x\nFROM --platform alpine',
    );
    expect(e.code).toBe('DOCKERFILE_BAD_FLAG');
    expect(e.diagnostics.map((d) => [d.line, d.code])).toEqual([
      [2, 'DOCKERFILE_BAD_FLAG'],
      [3, 'DOCKERFILE_DUPLICATE_FLAG'],
      [4, 'DOCKERFILE_BAD_FLAG'],
      [5, 'DOCKERFILE_BAD_FLAG'],
    ]);
    expect(e.diagnostics[0]).toMatchObject({
      message: 'unknown flag: --form for COPY',
      hint: 'did you mean --from?',
    });
  });

  it('rejects a bad mount spec', () => {
    expect(failure('FROM scratch\nRUN --mount=type=cache echo').message).toContain('needs a target');
  });
});

describe('HEALTHCHECK and ONBUILD', () => {
  it('types HEALTHCHECK CMD with its options, and NONE', () => {
    expect(
      second(
        'HEALTHCHECK --interval=1m30s --timeout=3s --start-period=0s --start-interval=500ms --retries=3 CMD ["curl", "-f", "x"]',
      ),
    ).toMatchObject({
      kind: 'healthcheck',
      test: { type: 'cmd', command: { form: 'exec', args: ['curl', '-f', 'x'] } },
      interval: 90e9,
      timeout: 3e9,
      startPeriod: 0,
      startInterval: 5e8,
      retries: 3,
    });
    expect(second('HEALTHCHECK NONE')).toMatchObject({ test: { type: 'none' } });
    expect(second('HEALTHCHECK CMD curl -f x')).toMatchObject({
      test: { type: 'cmd', command: { form: 'shell', text: 'curl -f x' } },
    });
    expect(failure('FROM scratch\nHEALTHCHECK --interval=soon CMD x').message).toContain('invalid duration');
    expect(failure('FROM scratch\nHEALTHCHECK CONNECT x').message).toContain('try CMD');
  });

  it('parses the ONBUILD trigger as an instruction', () => {
    expect(second('ONBUILD COPY --from=x a /b')).toMatchObject({
      kind: 'onbuild',
      trigger: { kind: 'copy', from: 'x', sources: ['a'], dest: '/b' },
    });
    expect(failure('FROM scratch\nONBUILD FROM x').message).toContain(
      "FROM isn't allowed as an ONBUILD trigger",
    );
  });
});

describe('errors and warnings', () => {
  it('reports bad quotes, ARG without a name and JSON with non-strings, all at once', () => {
    const e = failure('FROM scratch\nENV A="open\nARG =x\nCMD ["a", 1]\nWORKDIR ${X');
    expect(e.diagnostics.map((d) => [d.line, d.code])).toEqual([
      [4, 'DOCKERFILE_SYNTAX'],
      [2, 'DOCKERFILE_BAD_QUOTES'],
      [3, 'DOCKERFILE_SYNTAX'],
      [5, 'DOCKERFILE_BAD_SUBSTITUTION'],
    ]);
    expect(e.diagnostics[2]).toMatchObject({ column: 5, hint: expect.stringContaining('ARG <name>') });
  });

  it('returns warnings without throwing', () => {
    const df = parse('FROM alpine as Build\nMAINTAINER me\nCMD echo hi\nENTRYPOINT ["x"]\nRUN a \\\n\n  b');
    expect(df.warnings.map((w) => [w.line, w.code])).toEqual([
      [5, 'NoEmptyContinuation'],
      [1, 'StageNameCasing'],
      [1, 'FromAsCasing'],
      [2, 'MaintainerDeprecated'],
      [3, 'JSONArgsRecommended'],
    ]);
    expect(df.instructions[0]).toMatchObject({ stageName: 'build' });
  });
});
