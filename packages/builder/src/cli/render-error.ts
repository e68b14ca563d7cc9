import { readFileSync } from 'node:fs';
import { codeFrame, DockerfileError } from '@kiln/parser';
import { BuilderError } from '../builder-error.js';

/**
 * The text a user sees for a failed command: compiler-style location, a code frame from the
 * Dockerfile when there is one, the failed step's output, and the hint.
 */
export function renderError(err: unknown, dockerfilePath?: string): string {
  const text = dockerfilePath ? safeRead(dockerfilePath) : undefined;
  if (err instanceof DockerfileError)
    return `error: ${text === undefined ? err.message : err.format(text)}\n`;
  if (err instanceof Error) {
    const parts = [`error: ${err.message}`];
    if (err instanceof BuilderError) {
      if (err.detail) parts.push(`------\n${err.detail.replace(/\n?$/, '\n')}------`);
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
