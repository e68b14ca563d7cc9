import type { BuildEvent, Reporter } from '../progress/reporter.js';

/**
 * Renders build events as BuildKit's plain progress does (`#3 [2/4] RUN …`, `#3 CACHED`,
 * `#3 DONE 0.4s`), with step output prefixed by the step number and its time.
 */
export function plainProgress(write: (text: string) => void): Reporter {
  const started = new Map<number, number>();
  const partial = new Map<number, string>();
  const flush = (id: number): void => {
    const rest = partial.get(id);
    if (rest) write(`#${id} ${elapsed(started, id)} ${rest}\n`);
    partial.delete(id);
  };
  return {
    event(e: BuildEvent) {
      switch (e.type) {
        case 'step-start':
          started.set(e.id, Date.now());
          write(`#${e.id} ${e.name}\n`);
          return;
        case 'step-log': {
          const lines = ((partial.get(e.id) ?? '') + e.text).split('\n');
          partial.set(e.id, lines.pop() ?? '');
          for (const line of lines) write(`#${e.id} ${elapsed(started, e.id)} ${line}\n`);
          return;
        }
        case 'step-explain':
          write(`#${e.id} cache miss: ${e.reasons.join('; ')}\n`);
          return;
        case 'step-cached':
          write(`#${e.id} CACHED\n`);
          return;
        case 'step-done':
          flush(e.id);
          write(`#${e.id} DONE ${e.seconds.toFixed(1)}s\n\n`);
          return;
        case 'step-error':
          flush(e.id);
          write(`#${e.id} ERROR: ${e.message}\n\n`);
          return;
      }
    },
  };
}

function elapsed(started: ReadonlyMap<number, number>, id: number): string {
  return ((Date.now() - (started.get(id) ?? Date.now())) / 1000).toFixed(3);
}
