import type { BuildEvent, Reporter } from '../progress/reporter.js';

/**
 * `--progress rawjson`: one JSON object per line for each build event, for CI and other tools.
 * Schema (version 1; keys in this order, new keys may be added at the end, never removed):
 *
 * - every line: `time` (ISO 8601, when kiln saw the event), `type`, `id` (the step number, as
 *   in plain progress's `#id`)
 * - `step-start`: `name` (`[stage 2/4] RUN …`, the first line of the instruction)
 * - `step-log`: `stream` (`stdout` | `stderr`), `text` (a raw chunk of the step's output, UTF-8,
 *   not split into lines: concatenate the chunks of one id to get its full output)
 * - `step-cached`: nothing more (the step's result came from the cache; a `step-done` follows);
 *   `contextUnchanged: true` when a COPY found the build context unchanged by a stamp of what it
 *   read in the last build, without reading its files
 * - `step-explain`: `reasons` (strings: why a step that ran before missed the cache)
 * - `step-done`: `seconds` (the step's wall time)
 * - `step-error`: `message`
 *
 * Example: `{"time":"2025-01-01T00:00:00.000Z","type":"step-done","id":3,"seconds":0.42}`
 */
export function rawJsonProgress(write: (text: string) => void, now: () => Date = () => new Date()): Reporter {
  return {
    event(e: BuildEvent) {
      write(`${JSON.stringify({ time: now().toISOString(), ...e })}\n`);
    },
  };
}
