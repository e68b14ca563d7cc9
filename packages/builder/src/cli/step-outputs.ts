import type { BuildEvent, Reporter } from '../progress/reporter.js';

/** Beyond this, the oldest output of one step is dropped (and the drop is said in the text). */
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Keeps the whole output of each running step (in memory, up to `maxBytes` per step) so that
 * when a step fails the CLI can show all of it, not only the tail the error carries. A step's
 * text is dropped when it finishes; the failed step's stays readable through `failed()`.
 */
export class StepOutputs implements Reporter {
  private readonly running = new Map<number, { chunks: string[]; bytes: number; dropped: number }>();
  private failedText: string | undefined;

  constructor(private readonly maxBytes = DEFAULT_MAX_BYTES) {}

  event(e: BuildEvent): void {
    switch (e.type) {
      case 'step-start':
        this.running.set(e.id, { chunks: [], bytes: 0, dropped: 0 });
        return;
      case 'step-log': {
        const out = this.running.get(e.id);
        if (!out) return;
        out.chunks.push(e.text);
        out.bytes += Buffer.byteLength(e.text);
        while (out.bytes > this.maxBytes && out.chunks.length > 1) {
          const first = out.chunks.shift() ?? '';
          out.bytes -= Buffer.byteLength(first);
          out.dropped += Buffer.byteLength(first);
        }
        return;
      }
      case 'step-cached':
        return;
      case 'step-done':
        this.running.delete(e.id);
        return;
      case 'step-error': {
        const out = this.running.get(e.id);
        this.running.delete(e.id);
        if (out && this.failedText === undefined) {
          const note = out.dropped > 0 ? `[… ${out.dropped} earlier bytes not kept]\n` : '';
          this.failedText = note + out.chunks.join('');
        }
        return;
      }
    }
  }

  /** The whole output of the first step that failed, if one did. */
  failed(): string | undefined {
    return this.failedText;
  }
}
