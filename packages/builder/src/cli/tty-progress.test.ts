import { TtyProgress } from './tty-progress.js';

/** A TtyProgress on a fake clock and terminal; each render() is one frame. */
function setup(columns = 60): { tty: TtyProgress; frames: string[]; tick: (ms: number) => void } {
  let now = 1_000_000;
  const frames: string[] = [];
  const tty = new TtyProgress({
    write: (t) => frames.push(t),
    now: () => now,
    columns: () => columns,
    autoRender: false,
    tailLines: 2,
  });
  return { tty, frames, tick: (ms) => (now += ms) };
}

describe('TtyProgress', () => {
  it('redraws running steps in place with timers and the tail of their output', () => {
    const { tty, frames, tick } = setup();
    tty.event({ type: 'step-start', id: 1, name: '[1/3] FROM busybox' });
    tty.event({ type: 'step-start', id: 2, name: '[2/3] RUN make' });
    tick(1500);
    tty.event({ type: 'step-log', id: 2, stream: 'stdout', text: 'one\ntwo\nthr' });
    tty.render();
    expect(frames[0]).toBe(
      [
        '[+] Building 1.5s (0/2)',
        '=> [1/3] FROM busybox  1.5s',
        '=> [2/3] RUN make  1.5s',
        '\x1b[2m  > two\x1b[0m',
        '\x1b[2m  > thr\x1b[0m',
        '',
      ].join('\n'),
    );
    tick(500);
    tty.event({ type: 'step-done', id: 1, seconds: 2 });
    tty.render();
    // Back up over the 5 live lines, clear, print the finished step once, then the live area.
    expect(frames[1]).toBe(
      [
        '\x1b[5A\r\x1b[J=> [1/3] FROM busybox  DONE 2.0s',
        '[+] Building 2.0s (1/2)',
        '=> [2/3] RUN make  2.0s',
        '\x1b[2m  > two\x1b[0m',
        '\x1b[2m  > thr\x1b[0m',
        '',
      ].join('\n'),
    );
    tty.event({ type: 'step-cached', id: 2 });
    tty.event({ type: 'step-done', id: 2, seconds: 0 });
    tty.close();
    expect(frames[2]).toBe('\x1b[4A\r\x1b[J=> [2/3] RUN make  CACHED\n[+] Building 2.0s (2/2) FINISHED\n');
    tty.close();
    expect(frames).toHaveLength(3);
  });

  it('prints a failed step with the end of its output and ends with ERROR', () => {
    const { tty, frames } = setup();
    tty.event({ type: 'step-start', id: 1, name: '[1/2] RUN false' });
    tty.event({ type: 'step-log', id: 1, stream: 'stderr', text: 'a\nb\nc\nno newline' });
    tty.event({ type: 'step-error', id: 1, message: 'exit code: 1\nmore' });
    tty.close();
    expect(frames.join('')).toBe(
      '=> [1/2] RUN false  ERROR 0.0s\n  > c\n  > no newline\n  > ERROR: exit code: 1\n[+] Building 0.0s (1/1) ERROR\n',
    );
  });

  it('cuts long names to the terminal width but always shows the mark, and strips control characters', () => {
    const { tty, frames } = setup(30);
    tty.event({ type: 'step-start', id: 1, name: `[1/1] RUN echo ${'x'.repeat(50)}` });
    tty.event({ type: 'step-log', id: 1, stream: 'stdout', text: 'progress 10%\rprogress 20%\x1b[K\n' });
    tty.render();
    const lines = (frames[0] ?? '').split('\n');
    expect(lines[1]).toBe('=> [1/1] RUN echo xxxxx…  0.0s');
    expect(lines[3]).toBe('\x1b[2m  > progress 20%[K\x1b[0m');
    // eslint-disable-next-line no-control-regex
    for (const line of lines) expect(line.replace(/\x1b\[\d*m/g, '').length).toBeLessThanOrEqual(30);
  });
});
