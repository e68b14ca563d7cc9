import type { Argv } from 'yargs';
import { BuilderError } from '../../builder-error.js';
import type { CliIo } from '../cli-io.js';
import { parseSize } from '../parse-size.js';

const SETTINGS = ['max-size'] as const;

export function storeCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'store <action> [setting] [value]',
    'check the local store or change its settings (verify | get | set max-size SIZE|none)',
    (y) =>
      y
        .positional('action', { choices: ['verify', 'get', 'set'] as const, demandOption: true })
        .positional('setting', {
          choices: SETTINGS,
          describe: 'max-size: a hard cap prune and builds enforce',
        })
        .positional('value', { type: 'string', describe: 'a size (10GB, 512MiB) or "none"' }),
    async (argv) => {
      const { LayerStore } = await import('@kiln/layer-store');
      const store = await LayerStore.open(argv.root);
      if (argv.action === 'verify') {
        const report = await store.verify();
        for (const p of report.problems) io.stdout(`${p}\n`);
        if (!report.ok) {
          throw new BuilderError(
            'STORE_CORRUPT',
            `store ${argv.root} has ${report.problems.length} problem(s)`,
          );
        }
        io.stdout(`store ${argv.root}: ok\n`);
        return;
      }
      if (argv.action === 'set') {
        if (argv.setting === undefined || argv.value === undefined) {
          throw new BuilderError('INVALID_ARGUMENT', 'kiln store set needs a setting and a value', {
            hint: 'e.g. kiln store set max-size 10GB (or none to remove the cap)',
          });
        }
        const maxSize = argv.value === 'none' ? undefined : parseSize(argv.value);
        await store.updateSettings({ maxSize });
      }
      const settings = await store.settings();
      io.stdout(`max-size\t${settings.maxSize ?? 'none'}\n`);
    },
  );
}
