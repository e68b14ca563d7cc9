import type { Argv } from 'yargs';
import type { ContainerEntry } from '../../containers/container-record.js';
import type { CliIo } from '../cli-io.js';

export function psCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'ps',
    'list containers (running ones; -a: all)',
    (y) =>
      y.option('all', {
        alias: 'a',
        type: 'boolean',
        default: false,
        describe: 'show stopped containers too',
      }),
    async (argv) => {
      const { listContainers } = await import('../../containers/container-record.js');
      const rows: string[][] = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES']];
      for (const entry of await listContainers(argv.root)) {
        if (!argv.all && !entry.live) continue;
        const c = entry.config;
        const command = [...c.entrypoint, ...c.cmd].join(' ');
        rows.push([
          c.id.slice(0, 12),
          c.image,
          JSON.stringify(command.length > 30 ? `${command.slice(0, 29)}…` : command),
          c.created,
          statusText(entry),
          c.name,
        ]);
      }
      const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
      for (const r of rows)
        io.stdout(
          `${r
            .map((cell, i) => cell.padEnd(widths[i] ?? 0))
            .join('   ')
            .trimEnd()}\n`,
        );
    },
  );
}

/** Docker's words: "Up", "Exited (N)", "Created"; "Dead" when the kiln run that owned it was killed. */
function statusText(entry: ContainerEntry): string {
  const s = entry.status;
  if (entry.live) return `Up since ${s.startedAt ?? '?'}`;
  if (s.state === 'exited') return `Exited (${s.exitCode ?? '?'}) ${s.finishedAt ?? ''}`.trimEnd();
  if (s.state === 'running') return 'Dead';
  return 'Created';
}
