import { readFile } from 'node:fs/promises';
import type { FsChange } from '@kiln/oci';
import { runStep, type RunSpec } from '../run-step.js';
import type { Snapshot } from '../snapshot.js';
import { StringSink } from './string-sink.js';

/** Runs `script` with /bin/sh on `snapshot` and returns the result with its output. */
export async function runScript(
  snapshot: Snapshot,
  script: string,
  extra: Partial<RunSpec> = {},
  signal?: AbortSignal,
) {
  const stdout = new StringSink();
  const stderr = new StringSink();
  const spec: RunSpec = {
    snapshot,
    args: ['/bin/sh', '-c', script],
    env: ['PATH=/bin'],
    cwd: '/',
    network: 'host',
    ...extra,
  };
  const result = await runStep(spec, { stdout, stderr }, signal);
  return { ...result, stdout: stdout.text, stderr: stderr.text };
}

/** A changeset as comparable data: every header field but mtime, and file contents. */
export async function describeChanges(changes: AsyncIterable<FsChange>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const c of changes) {
    if (c.kind !== 'upsert') {
      out.push(c);
      continue;
    }
    const { mtime: _mtime, ...header } = c.header;
    let content: string | undefined;
    if (c.open !== undefined) {
      const chunks: Buffer[] = [];
      for await (const chunk of c.open()) chunks.push(chunk as Buffer);
      content = Buffer.concat(chunks).toString('utf8');
    }
    out.push(content === undefined ? { kind: c.kind, header } : { kind: c.kind, header, content });
  }
  return out;
}

/**
 * The host's mounts that involve `dir` (a test's temp dir). Only those: other work on this host
 * (benchmarks, other builds) may mount and unmount elsewhere while a test runs; every mount a
 * step could leak (staging tmpfs, overlay, /proc, the step's mounts) lies below its snapshot.
 */
export async function mountTable(dir: string): Promise<string> {
  const lines = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n');
  return lines.filter((line) => line.includes(dir)).join('\n');
}
