import { DockerfileError, parseDockerfile } from './index.js';

const parse = (text: string) => parseDockerfile(text, { file: 'Dockerfile' });

describe('parseDockerfile', () => {
  it('types each instruction with 1-based ranges', () => {
    const df = parse(
      [
        'FROM busybox AS base',
        'ENV A=1 B="two words"',
        'RUN echo a \\',
        '  # a comment inside the continuation',
        '  && echo b',
        'COPY --chown=1:2 a.txt b/ /dest/',
        'CMD ["sh", "-c", "echo hi there"]',
        'workdir /app',
      ].join('\n'),
    );
    const kinds = df.instructions.map((i) => i.kind);
    expect(kinds).toEqual(['from', 'env', 'run', 'copy', 'cmd', 'workdir']);
    const [from, env, run, copy, cmd] = df.instructions;
    expect(from).toMatchObject({
      image: 'busybox',
      stageName: 'base',
      range: { start: { line: 1, column: 1 } },
    });
    expect(env).toMatchObject({
      pairs: [
        { key: 'A', value: '1' },
        { key: 'B', value: '"two words"' },
      ],
    });
    expect(run).toMatchObject({
      command: { form: 'shell', text: 'echo a   && echo b' },
      range: { start: { line: 3 }, end: { line: 5 } },
    });
    expect(copy).toMatchObject({ sources: ['a.txt', 'b/'], dest: '/dest/', chown: '1:2' });
    expect(cmd).toMatchObject({ command: { form: 'exec', args: ['sh', '-c', 'echo hi there'] } });
  });

  it('falls back to the shell form when the JSON is invalid', () => {
    const [, run] = parse('FROM scratch\nRUN [ "a", b ]').instructions;
    expect(run).toMatchObject({ command: { form: 'shell', text: '[ "a", b ]' } });
  });

  it('honours the escape directive', () => {
    const df = parse('# escape=`\nFROM scratch\nRUN echo a `\n  b');
    expect(df.escape).toBe('`');
    expect(df.instructions[1]).toMatchObject({ command: { text: 'echo a   b' } });
  });

  it('reports every bad line with file:line:col and a suggestion', () => {
    let error: unknown;
    try {
      parse('FROM scratch\nRUNN echo\nCOPY onlyone\n');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DockerfileError);
    const e = error as DockerfileError;
    expect(e.code).toBe('DOCKERFILE_UNKNOWN_INSTRUCTION');
    expect(e.message).toContain('Dockerfile:2:1: unknown instruction "RUNN" (did you mean "RUN"?)');
    expect(e.message).toContain('Dockerfile:3:6: COPY requires at least two arguments');
    expect(e.format('FROM scratch\nRUNN echo\nCOPY onlyone\n')).toContain('> 2 | RUNN echo\n    | ^');
  });

  it('requires FROM first', () => {
    expect(() => parse('RUN echo')).toThrow(/Dockerfile:1:1: no build stage/);
  });
});
