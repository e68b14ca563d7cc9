import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BuilderError, type ErrorLocation } from '../builder-error.js';

/** A compression ADD recognises in a local archive (see archiveKind). */
export type Compression = 'gzip' | 'bzip2' | 'xz' | 'zstd';

/** The program for each compression Node's zlib lacks, and the Debian package that has it. */
const PROGRAMS = {
  bzip2: { program: 'bzip2', debian: 'bzip2' },
  xz: { program: 'xz', debian: 'xz-utils' },
  zstd: { program: 'zstd', debian: 'zstd' },
} as const;

/** How much of a decompressing program's stderr a failure quotes. */
const STDERR_LIMIT = 4096;

/**
 * The decompressed bytes of the file at `path`, streamed: gzip through zlib, bzip2, xz and zstd
 * through the host's `bzip2`, `xz` and `zstd` programs (`-dc`), whose memory stays flat as the
 * archive grows. The stream fails on corrupt input, on a program's non-zero exit (quoting its
 * stderr), and with MISSING_TOOL when the program is not on PATH (at `location`, if given).
 * Destroying the stream stops the program.
 */
export function decompressedStream(
  path: string,
  compression: Compression,
  location?: ErrorLocation,
): Readable {
  if (compression === 'gzip') return pipeline(createReadStream(path), createGunzip(), () => undefined);
  return Readable.from(runProgram(path, compression, location), { objectMode: false });
}

async function* runProgram(
  path: string,
  compression: Exclude<Compression, 'gzip'>,
  location?: ErrorLocation,
): AsyncGenerator<Buffer> {
  const { program, debian } = PROGRAMS[compression];
  const child = spawn(program, ['-dc', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null } | Error>((resolve) => {
    child.once('error', resolve);
    child.once('close', (code) => resolve({ code }));
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < STDERR_LIMIT) stderr += text;
  });
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const end = await exited;
    if (end instanceof Error) {
      if ((end as NodeJS.ErrnoException).code !== 'ENOENT') throw end;
      throw new BuilderError(
        'MISSING_TOOL',
        `ADD needs the "${program}" program to unpack ${path} (${compression}-compressed), and it is not on PATH`,
        {
          ...(location ? { location } : {}),
          hint: `install it (Debian: apt-get install ${debian})`,
          cause: end,
        },
      );
    }
    if (end.code !== 0) {
      throw new Error(`${program} -dc ${path} failed: ${stderr.trim() || `exit status ${end.code}`}`);
    }
  } finally {
    // Stopped early (a consumer that read enough, or failed): the program need not finish.
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
}
