import { readFileSync } from 'node:fs';
import { codeFrame, DockerfileError } from '@kiln/parser';
import { BuilderError } from '../builder-error.js';

/**
 * The text a user sees for a failed command: compiler-style location, a code frame from the
 * Dockerfile when there is one, the failed step's output, and the hint.
 *
 * The step output shown is, in order of preference: with `failedStep.logFile`, the error's own
 * tail (the last 8 KiB the step kept) and a pointer to the log file, which holds all of it;
 * else `failedStep.text`, the whole output of the failing step as the CLI collected it; else the
 * error's tail.
 */
export function renderError(
  err: unknown,
  dockerfilePath?: string,
  failedStep?: { readonly text?: string; readonly logFile?: string },
): string {
  const text = dockerfilePath ? safeRead(dockerfilePath) : undefined;
  if (err instanceof DockerfileError)
    return `error: ${text === undefined ? err.message : err.format(text)}\n`;
  if (err instanceof Error) {
    const parts = [`error: ${err.message}`];
    if (err instanceof BuilderError) {
      const whole = failedStep?.logFile === undefined ? failedStep?.text : undefined;
      const output = err.detail && whole ? whole : err.detail;
      if (output) parts.push(`------\n${output.replace(/\n?$/, '\n')}------`);
      if (output && failedStep?.logFile !== undefined)
        parts.push(`(the end of the step's output; all of it is in ${failedStep.logFile})`);
      if (err.location && text !== undefined)
        parts.push(codeFrame(text, err.location.line, err.location.column));
    }
    const hint = (err as { hint?: unknown }).hint;
    if (typeof hint === 'string') parts.push(`hint: ${hint}`);
    return `${parts.join('\n')}\n`;
  }
  return `error: ${String(err)}\n`;
}

function safeRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
