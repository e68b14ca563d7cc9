import type { Argv } from 'yargs';
import { BuilderError } from '../../builder-error.js';
import type { CliIo } from '../cli-io.js';

export function storeCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'store <action>',
    'check the local store (action: verify)',
    (y) => y.positional('action', { choices: ['verify'] as const, demandOption: true }),
    async (argv) => {
      const { LayerStore } = await import('@kiln/layer-store');
      const report = await (await LayerStore.open(argv.root)).verify();
      for (const p of report.problems) io.stdout(`${p}\n`);
      if (!report.ok) {
        throw new BuilderError(
          'STORE_CORRUPT',
          `store ${argv.root} has ${report.problems.length} problem(s)`,
        );
      }
      io.stdout(`store ${argv.root}: ok\n`);
    },
  );
}
