import { createHash, hash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** What went into one step's cache key, kept to explain the next miss of the same step. */
export type StepInputs = Readonly<Record<string, unknown>>;

const MAX_BYTES = 64 * 1024 * 1024;
/**
 * Inputs kept beside the log rather than in it: a COPY's per-file digests (20,000 files make
 * ~750 KB), which only a miss needs, while every build parses the log. In the log the field
 * holds the sha256 (hex) of the side file's text, `<id>.files/<sha256>.json`.
 */
const SIDE_FIELD = 'files';
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The inputs of every layer step of the last build of one Dockerfile and target, by slot
 * (`<stage>:<line>`), stored in `<root>/kiln/explain/<id>.json` (large fields beside it, see
 * SIDE_FIELD). A miss is explained against the previous build's inputs for the same slot. Like
 * the stat cache, a lost or corrupt file only loses explanations, never correctness.
 */
export class ExplainLog {
  private readonly current = new Map<string, StepInputs>();
  private constructor(
    private readonly file: string,
    private readonly previous: ReadonlyMap<string, StepInputs>,
    /** The file as loaded: a rebuild whose inputs are all the same need not write it again. */
    private readonly previousText?: string,
  ) {}

  /** The log of the builds of this context, Dockerfile and target. */
  static async load(root: string, identity: readonly string[]): Promise<ExplainLog> {
    const id = createHash('sha256').update(identity.join('\0')).digest('hex');
    const file = join(root, 'kiln', 'explain', `${id}.json`);
    const previous = new Map<string, StepInputs>();
    let previousText: string | undefined;
    try {
      // Synchronous: the build waits for it, and a thread-pool read is four round trips.
      const text = readFileSync(file, 'utf8');
      previousText = text;
      const data = text.length <= MAX_BYTES ? (JSON.parse(text) as unknown) : undefined;
      if (data && typeof data === 'object') {
        for (const [slot, inputs] of Object.entries(data as Record<string, unknown>)) {
          if (inputs && typeof inputs === 'object') previous.set(slot, inputs as StepInputs);
        }
      }
    } catch {
      // No previous build: nothing to compare with.
    }
    return new ExplainLog(file, previous, previousText);
  }

  /**
   * Records a step's inputs; `reasons()` says why they differ from the previous build's (empty:
   * no previous). Computed on demand: only a miss is explained, and comparing the file lists of
   * a big COPY costs milliseconds a cache hit need not spend.
   */
  record(slot: string, inputs: StepInputs): { readonly previous: boolean; reasons(): readonly string[] } {
    this.current.set(slot, inputs);
    const before = this.previous.get(slot);
    return before
      ? { previous: true, reasons: () => explainDifference(this.resolve(before), this.resolve(inputs)) }
      : { previous: false, reasons: () => [] };
  }

  /** `inputs` with a side field read back (absent when its file is gone or corrupt). */
  private resolve(inputs: StepInputs): StepInputs {
    const ref = inputs[SIDE_FIELD];
    if (typeof ref !== 'string') return inputs;
    const { [SIDE_FIELD]: _, ...rest } = inputs;
    try {
      const text = readFileSync(this.sidePath(ref), 'utf8');
      if (text.length <= MAX_BYTES && hash('sha256', text) === ref)
        return { ...rest, [SIDE_FIELD]: JSON.parse(text) as unknown };
    } catch {
      // Gone (another build of the same log replaced it) or unreadable: no file list to compare.
    }
    return rest;
  }

  private sidePath(ref: string): string {
    return join(this.sideDir(), `${ref}.json`);
  }

  private sideDir(): string {
    return this.file.replace(/\.json$/, '.files');
  }

  /**
   * Records the layer a step's inputs gave (cached or computed): its diffID and blob digest, kept
   * with the inputs (under `layer`, which explanations ignore) for the next build's
   * {@link previousLayer}.
   */
  recordLayer(slot: string, layer: { readonly diffId: string; readonly blob: string }): void {
    this.amend(slot, { layer: [layer.diffId, layer.blob] });
  }

  /** Adds fields to a step's recorded inputs (ones known only once the step is done). */
  amend(slot: string, fields: StepInputs): void {
    const inputs = this.current.get(slot);
    if (inputs) this.current.set(slot, { ...inputs, ...fields });
  }

  /** Every slot's inputs as the previous build recorded them. */
  previousAll(): Iterable<StepInputs> {
    return this.previous.values();
  }

  /** The inputs the previous build recorded for `slot`, if any. */
  previousInputs(slot: string): StepInputs | undefined {
    return this.previous.get(slot);
  }

  /** The layer the previous build's step in `slot` gave, when it gave one. */
  previousLayer(slot: string): { readonly diffId: string; readonly blob: string } | undefined {
    const layer = this.previous.get(slot)?.layer;
    return Array.isArray(layer) && typeof layer[0] === 'string' && typeof layer[1] === 'string'
      ? { diffId: layer[0], blob: layer[1] }
      : undefined;
  }

  /**
   * Saves this build's inputs (after a successful build), atomically: new side files first, then
   * the log, then side files the log no longer names.
   */
  async save(): Promise<void> {
    const kept = new Set<string>();
    const entries: [string, StepInputs][] = [];
    for (const [slot, inputs] of this.current) {
      const side = inputs[SIDE_FIELD];
      if (side === undefined || (typeof side === 'string' && SHA256_HEX.test(side))) {
        if (typeof side === 'string') kept.add(side);
        entries.push([slot, inputs]);
        continue;
      }
      const sideText = JSON.stringify(side);
      const ref = hash('sha256', sideText);
      kept.add(ref);
      await this.writeSide(ref, sideText);
      entries.push([slot, { ...inputs, [SIDE_FIELD]: ref }]);
    }
    const text = JSON.stringify(Object.fromEntries(entries));
    if (text === this.previousText) return;
    atomicWrite(this.file, text);
    let names: string[] = [];
    try {
      names = readdirSync(this.sideDir());
    } catch {
      // No side files.
    }
    // Only finished side files: a `.tmp` may be another build's save in progress.
    for (const name of names) {
      const ref = /^([0-9a-f]{64})\.json$/.exec(name)?.[1];
      if (ref !== undefined && !kept.has(ref)) rmSync(join(this.sideDir(), name), { force: true });
    }
  }

  private async writeSide(ref: string, text: string): Promise<void> {
    const path = this.sidePath(ref);
    let existing: string | undefined;
    try {
      existing = readFileSync(path, 'utf8');
    } catch {
      // Not written yet.
    }
    if (existing !== undefined && hash('sha256', existing) === ref) return;
    atomicWrite(path, text);
  }
}

/**
 * Temp file, then rename; no fsync (a log lost to a power cut only loses explanations).
 * Synchronous: each call costs microseconds, a thread-pool round trip ~0.1 ms of every build.
 */
function atomicWrite(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

const MAX_FILES_LISTED = 5;

/**
 * Human-readable differences between two input sets: changed fields (`ARG VERSION 1.2 → 1.3`),
 * changed/added/removed files, or an earlier step that changed.
 */
export function explainDifference(before: StepInputs, after: StepInputs): string[] {
  const reasons: string[] = [];
  for (const field of new Set([...Object.keys(before), ...Object.keys(after)])) {
    // `memo` is derived from the others (a COPY's remembered digest, see copy-memo.ts).
    if (field === 'parent' || field === 'files' || field === 'layer' || field === 'memo') continue;
    const a = before[field];
    const b = after[field];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    if (field === 'env' && Array.isArray(a) && Array.isArray(b))
      reasons.push(...listDifference(a as string[], b as string[]));
    else reasons.push(`${field}: ${show(a)} → ${show(b)}`);
  }
  const files = fileDifference(before.files, after.files);
  reasons.push(...files);
  if (reasons.length === 0 && before.parent !== after.parent) reasons.push('an earlier step changed');
  return reasons;
}

function listDifference(a: readonly string[], b: readonly string[]): string[] {
  const name = (kv: string): string => kv.slice(0, Math.max(0, kv.indexOf('=')));
  const before = new Map(a.map((kv) => [name(kv), kv.slice(kv.indexOf('=') + 1)]));
  const after = new Map(b.map((kv) => [name(kv), kv.slice(kv.indexOf('=') + 1)]));
  const out: string[] = [];
  for (const [k, v] of after) {
    if (!before.has(k)) out.push(`env ${k} added (${v})`);
    else if (before.get(k) !== v) out.push(`env ${k}: ${before.get(k) ?? ''} → ${v}`);
  }
  for (const k of before.keys()) if (!after.has(k)) out.push(`env ${k} removed`);
  return out;
}

function fileDifference(a: unknown, b: unknown): string[] {
  if (!a || !b || typeof a !== 'object' || typeof b !== 'object') return [];
  const before = a as Record<string, string>;
  const after = b as Record<string, string>;
  const changed = Object.keys(after).filter((p) => p in before && before[p] !== after[p]);
  const added = Object.keys(after).filter((p) => !(p in before));
  const removed = Object.keys(before).filter((p) => !(p in after));
  const list = (paths: string[], what: string): string[] =>
    paths.length === 0
      ? []
      : [
          `${paths.slice(0, MAX_FILES_LISTED).join(', ')}${paths.length > MAX_FILES_LISTED ? ` and ${paths.length - MAX_FILES_LISTED} more` : ''} ${what}`,
        ];
  return [...list(changed, 'changed'), ...list(added, 'added'), ...list(removed, 'removed')];
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s === undefined ? '(none)' : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
