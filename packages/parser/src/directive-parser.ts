const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN = new Set(['syntax', 'escape', 'check']);

/**
 * Detects parser directives (`# syntax=`, `# escape=`, `# check=`) at the top of a file, as
 * BuildKit does: detection stops for good at the first line that is not a known directive.
 * `offer` throws a plain Error for a repeated directive or an invalid escape character.
 */
export class DirectiveParser {
  private done = false;
  readonly directives = new Map<string, string>();

  offer(line: string): void {
    if (this.done) return;
    const m = DIRECTIVE.exec(line);
    const key = m?.[1]?.toLowerCase();
    if (!m || key === undefined || !KNOWN.has(key)) {
      this.done = true;
      return;
    }
    if (this.directives.has(key)) throw new Error(`only one ${key} parser directive can be used`);
    const value = m[2] ?? '';
    if (key === 'escape' && value !== '`' && value !== '\\') {
      throw new Error(`invalid escape token '${value}' does not match \` or \\`);
    }
    this.directives.set(key, value);
  }

  get escape(): string {
    return this.directives.get('escape') ?? '\\';
  }
}
