import type { DockerfileNode } from './dockerfile-node.js';
import { goQuote } from './go-quote.js';

/**
 * Renders nodes in BuildKit's AST dump format, one `(keyword [flags] "arg"...)` line per
 * instruction, each line ending in a newline. Used to compare with BuildKit's own test data.
 */
export function dumpAst(nodes: readonly DockerfileNode[]): string {
  return nodes.map((n) => `${dumpNode(n)}\n`).join('');
}

function dumpNode(n: DockerfileNode): string {
  let s = `(${n.keyword.toLowerCase()}`;
  if (n.flags.length > 0) s += ` [${n.flags.map(goQuote).join(' ')}]`;
  if (n.trigger) s += ` ${dumpNode(n.trigger)}`;
  for (const a of n.args) s += ` ${goQuote(a)}`;
  return `${s})`;
}
