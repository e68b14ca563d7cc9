import type { CommandForm } from '@kiln/parser';

/** The argv a CMD/ENTRYPOINT/RUN stands for: exec form as is, shell form through the stage's shell. */
export function commandArgs(command: CommandForm, shell: readonly string[]): string[] {
  return command.form === 'exec' ? [...command.args] : [...shell, command.text];
}
