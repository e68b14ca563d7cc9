import type { Argv } from 'yargs';
import type { CliIo } from '../cli-io.js';
import { commitCommand } from './commit-command.js';
import { psCommand } from './ps-command.js';
import { rmCommand } from './rm-command.js';
import { runCommand } from './run-command.js';

/** `run`, `ps`, `rm` and `commit`: containers from the images in the store. */
export function containerCommands(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return commitCommand(rmCommand(psCommand(runCommand(cli, io), io), io), io);
}
