const BLOCK = 512;
/** PAX headers larger than this are not scanned (tar-stream refuses them too). */
const MAX_PAX_BYTES = 1024 * 1024;
const XATTR_PREFIX = 'SCHILY.xattr.';

/** Extended attributes of one tar entry, from its PAX header, values as raw bytes. */
export type TarXattrs = Record<string, Buffer>;

/**
 * Follows the bytes of a tar archive as they stream by and keeps, for each entry a tar reader
 * emits (every header but PAX and GNU long-name ones), the `SCHILY.xattr.*` records of its PAX
 * header with their values as raw bytes. tar-stream decodes PAX values as UTF-8, which destroys
 * binary values such as `security.capability`; this reads them beside it. Feed every byte in
 * order with `write()` before the reader sees it, and call `take()` once per entry the reader
 * emits, in order. It mirrors tar-stream's framing (a PAX `size` overrides the header's,
 * directories have no body, a global header applies through the next PAX header); on input it
 * cannot frame it stops scanning and `take()` returns undefined, leaving errors to the reader.
 */
export class TarXattrScanner {
  private readonly queue: Array<TarXattrs | undefined> = [];
  private pending: Buffer[] = [];
  private held = 0;
  /** Bytes wanted for the current phase: a header block, a PAX body, or bytes to skip. */
  private want = BLOCK;
  private phase: 'header' | 'pax' | 'global' | 'skip' | 'stopped' = 'header';
  private paxRecords: Map<string, Buffer> | undefined;
  private globalRecords: Map<string, Buffer> | undefined;
  private afterBody = 0;

  write(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.phase !== 'stopped') {
      if (this.phase === 'skip') {
        const n = Math.min(this.want, chunk.length - at);
        at += n;
        this.want -= n;
        if (this.want === 0) this.startHeader();
        continue;
      }
      const n = Math.min(this.want - this.held, chunk.length - at);
      this.pending.push(chunk.subarray(at, at + n));
      this.held += n;
      at += n;
      if (this.held < this.want) continue;
      const whole = Buffer.concat(this.pending, this.held);
      this.pending = [];
      this.held = 0;
      if (this.phase === 'header') this.onHeader(whole);
      else this.onPax(whole);
    }
  }

  /** The xattrs of the next entry (undefined when it has none). */
  take(): TarXattrs | undefined {
    return this.queue.shift();
  }

  private startHeader(): void {
    this.phase = 'header';
    this.want = BLOCK;
  }

  private skip(bytes: number): void {
    if (bytes === 0) this.startHeader();
    else {
      this.phase = 'skip';
      this.want = bytes;
    }
  }

  private onHeader(block: Buffer): void {
    if (block.every((b) => b === 0)) return this.startHeader();
    const size = headerSize(block);
    if (size === undefined) {
      this.phase = 'stopped';
      return;
    }
    const type = String.fromCharCode(block[156] ?? 0);
    if (type === 'x' || type === 'g') {
      if (size > MAX_PAX_BYTES) {
        this.phase = 'stopped';
        return;
      }
      this.phase = type === 'x' ? 'pax' : 'global';
      this.want = size;
      this.afterBody = padding(size);
      if (size === 0) this.onPax(Buffer.alloc(0));
      return;
    }
    if (type === 'L' || type === 'K') return this.skip(size + padding(size));
    const records = this.paxRecords;
    this.paxRecords = undefined;
    this.queue.push(records === undefined ? undefined : xattrsOf(records));
    const sizeText = records?.get('size')?.toString('latin1');
    const bodySize = type === '5' ? 0 : sizeText !== undefined ? Number.parseInt(sizeText, 10) : size;
    if (!Number.isSafeInteger(bodySize) || bodySize < 0) {
      this.phase = 'stopped';
      return;
    }
    this.skip(bodySize + padding(bodySize));
  }

  private onPax(body: Buffer): void {
    const records = decodePaxRecords(body);
    if (this.phase === 'global') this.globalRecords = records;
    else this.paxRecords = new Map([...(this.globalRecords ?? []), ...records]);
    this.skip(this.afterBody);
  }
}

/**
 * The records of a PAX extended header body (`"<len> <key>=<value>\n"`, repeated), values kept
 * as raw bytes. Stops at the first malformed record, as tar-stream does.
 */
export function decodePaxRecords(body: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    const length = space < 0 ? NaN : Number(body.toString('latin1', at, space));
    if (!Number.isSafeInteger(length) || length <= 0 || at + length > body.length) break;
    const record = body.subarray(space + 1, at + length - 1);
    const eq = record.indexOf(0x3d);
    if (eq < 0) break;
    out.set(record.toString('utf8', 0, eq), Buffer.from(record.subarray(eq + 1)));
    at += length;
  }
  return out;
}

function xattrsOf(records: Map<string, Buffer>): TarXattrs | undefined {
  let out: TarXattrs | undefined;
  for (const [key, value] of records) {
    if (!key.startsWith(XATTR_PREFIX)) continue;
    out ??= {};
    out[key.slice(XATTR_PREFIX.length)] = value;
  }
  return out;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The size field: octal text, or base-256 when the top bit of its first byte is set. */
function headerSize(block: Buffer): number | undefined {
  const field = block.subarray(124, 136);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let n = (field[0] ?? 0) & 0x7f;
    for (const b of field.subarray(1)) n = n * 256 + b;
    return Number.isSafeInteger(n) ? n : undefined;
  }
  const text = field
    .toString('latin1')
    .replace(/^ +/, '')
    .replace(/[\0 ].*$/s, '');
  const n = text === '' ? 0 : Number.parseInt(text, 8);
  return Number.isSafeInteger(n) && /^[0-7]*$/.test(text) ? n : undefined;
}
