import type { BuildEvent, Reporter } from '../progress/reporter.js';

/**
 * Collects why steps missed the cache (`step-explain` events) for `kiln build --explain`, and
 * renders them after the build as one block: each rebuilt step's name and its reasons.
 */
export class ExplainSummary implements Reporter {
  private readonly names = new Map<number, string>();
  private readonly misses: { id: number; reasons: readonly string[] }[] = [];

  event(e: BuildEvent): void {
    if (e.type === 'step-start') this.names.set(e.id, e.name);
    else if (e.type === 'step-explain') this.misses.push({ id: e.id, reasons: e.reasons });
  }

  render(): string {
    const lines = ['', 'Cache misses against the last build of this Dockerfile and target:'];
    if (this.misses.length === 0) lines.push('  none (or no earlier build to compare with)');
    for (const m of this.misses) {
      lines.push(`  ${this.names.get(m.id) ?? `step #${m.id}`}`);
      for (const r of m.reasons) lines.push(`    - ${r}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
