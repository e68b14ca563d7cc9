import type { Instruction } from '@kiln/parser';
import { BuilderError } from '../builder-error.js';
import type { StageState } from '../state/stage-state.js';
import { applyMetadata, isMetadataInstruction } from './apply-metadata.js';
import { copyInstruction } from './copy-instruction.js';
import { locationOf } from './expand-in-stage.js';
import { runInstruction } from './run-instruction.js';
import { workdirInstruction } from './workdir-instruction.js';
import type { StepContext } from './step-context.js';

/** Routes one instruction (not FROM) to the executor of its family. */
export async function executeInstruction(
  state: StageState,
  ins: Instruction,
  ctx: StepContext,
  id: number,
): Promise<StageState> {
  if (ins.kind === 'workdir') return workdirInstruction(state, ins, ctx, id);
  if (isMetadataInstruction(ins)) return applyMetadata(state, ins, ctx);
  switch (ins.kind) {
    case 'run':
      return runInstruction(state, ins, ctx, id);
    case 'copy':
    case 'add':
      return copyInstruction(state, ins, ctx, id);
    default:
      throw new BuilderError('UNSUPPORTED', `${ins.kind.toUpperCase()} is not supported yet`, {
        location: locationOf(ins, ctx.file),
      });
  }
}

/** Whether an instruction is shown as a numbered step (BuildKit shows FROM, WORKDIR and filesystem steps). */
export function isVisibleStep(ins: Instruction): boolean {
  return ['from', 'run', 'copy', 'add', 'workdir'].includes(ins.kind);
}
