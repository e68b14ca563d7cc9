import type { BuildEvent, Reporter } from '../progress/reporter.js';

export interface TtyProgressOptions {
  readonly write: (text: string) => void;
  /** The terminal's width; lines are cut to it so that none wraps (wrapping breaks the redraw). */
  readonly columns?: () => number;
  readonly now?: () => number;
  /** The least time between two redraws (default 100 ms); events in between are batched. */
  readonly intervalMs?: number;
  /** Lines of a running step's output shown under it (default 6). */
  readonly tailLines?: number;
  /** false: no timer, the owner calls `render()` (tests). Default true. */
  readonly autoRender?: boolean;
}

type Status = 'running' | 'done' | 'cached' | 'error';

interface StepView {
  readonly name: string;
  readonly started: number;
  status: Status;
  ended?: number;
  tail: string[];
  partial: string;
  printed: boolean;
}

const ESC = '\x1b[';

/**
 * `--progress tty`: a live view like BuildKit's. Finished steps are printed once, permanently,
 * as `=> [2/3] RUN …   DONE 0.4s` (or `CACHED`, or `ERROR`); below them a live area is redrawn in
 * place: a header with the elapsed time and the count of finished steps, each running step with
 * its timer and the last `tailLines` lines of its output. Redraws are throttled to one per
 * `intervalMs` (a timer that also keeps the timers moving; it never holds the process open).
 * Call `close()` when the build ends: it draws the final frame and restores the cursor.
 */
export class TtyProgress implements Reporter {
  private readonly steps = new Map<number, StepView>();
  private readonly order: number[] = [];
  private readonly now: () => number;
  private readonly begun: number;
  private liveLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private closing = false;

  constructor(private readonly options: TtyProgressOptions) {
    this.now = options.now ?? Date.now;
    this.begun = this.now();
  }

  event(e: BuildEvent): void {
    if (this.closed) return;
    if (e.type === 'step-start') {
      this.steps.set(e.id, {
        name: e.name,
        started: this.now(),
        status: 'running',
        tail: [],
        partial: '',
        printed: false,
      });
      this.order.push(e.id);
    } else {
      const step = this.steps.get(e.id);
      if (!step) return;
      switch (e.type) {
        case 'step-log': {
          const lines = (step.partial + e.text).replace(/\r(?!\n)/g, '\n').split('\n');
          step.partial = lines.pop() ?? '';
          step.tail = [...step.tail, ...lines].slice(-this.tailSize());
          break;
        }
        case 'step-cached':
          step.status = 'cached';
          break;
        case 'step-explain':
          step.tail = [...step.tail, `cache miss: ${e.reasons.join('; ')}`].slice(-this.tailSize());
          break;
        case 'step-done':
          if (step.status === 'running') step.status = 'done';
          step.ended = this.now();
          break;
        case 'step-error':
          step.status = 'error';
          step.ended = this.now();
          if (step.partial) step.tail = [...step.tail, step.partial].slice(-this.tailSize());
          step.tail = [...step.tail, `ERROR: ${e.message.split('\n')[0] ?? ''}`];
          break;
      }
    }
    if (this.options.autoRender !== false && this.timer === undefined) {
      this.timer = setInterval(() => this.render(), this.options.intervalMs ?? 100);
      this.timer.unref();
    }
  }

  /** Draws one frame now: newly finished steps above, then the live area in place of the last one. */
  render(): void {
    const width = Math.max(20, this.options.columns?.() || 80);
    let out = this.liveLines > 0 ? `${ESC}${this.liveLines}A\r${ESC}J` : '';
    for (const id of this.order) {
      const step = this.steps.get(id);
      if (!step || step.status === 'running' || step.printed) continue;
      step.printed = true;
      out += `${this.stepLine(step, width)}\n`;
      if (step.status === 'error') for (const line of step.tail) out += `${fit(`  > ${line}`, width)}\n`;
    }
    const live = this.liveArea(width);
    out += live.map((l) => `${l}\n`).join('');
    this.liveLines = live.length;
    this.options.write(out);
  }

  /** Stops the timer and draws the final frame (with no running steps left, only the header). */
  close(): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.closing = true;
    this.render();
    this.closed = true;
  }

  private liveArea(width: number): string[] {
    const finished = this.order.filter((id) => this.steps.get(id)?.status !== 'running').length;
    const running = this.order.flatMap((id) => {
      const s = this.steps.get(id);
      return s && s.status === 'running' ? [s] : [];
    });
    const failed = this.order.some((id) => this.steps.get(id)?.status === 'error');
    const end = this.closing ? (failed ? ' ERROR' : ' FINISHED') : '';
    const header = `[+] Building ${seconds(this.now() - this.begun)} (${finished}/${this.order.length})${end}`;
    const lines = [fit(header, width)];
    for (const step of running) {
      lines.push(this.stepLine(step, width));
      const tail = step.partial ? [...step.tail, step.partial].slice(-this.tailSize()) : step.tail;
      for (const line of tail) lines.push(`${ESC}2m${fit(`  > ${line}`, width)}${ESC}0m`);
    }
    return lines;
  }

  /** `=> NAME  MARK`, the name cut so that the mark (timer, DONE, CACHED, ERROR) always shows. */
  private stepLine(step: StepView, width: number): string {
    const time = seconds((step.ended ?? this.now()) - step.started);
    const mark =
      step.status === 'cached'
        ? 'CACHED'
        : step.status === 'done'
          ? `DONE ${time}`
          : step.status === 'error'
            ? `ERROR ${time}`
            : time;
    return `${fit(`=> ${step.name}`, Math.max(10, width - mark.length - 2))}  ${mark}`;
  }

  private tailSize(): number {
    return this.options.tailLines ?? 6;
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** `line` without control characters, cut to `width` columns. */
function fit(line: string, width: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = line.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
  return clean.length > width ? `${clean.slice(0, width - 1)}…` : clean;
}
