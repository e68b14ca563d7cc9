import { Writable } from 'node:stream';

/** A Writable that keeps what it is given, for asserting on a step's output. */
export class StringSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}
