export { parseDockerfile, type ParseOptions } from './parse-dockerfile.js';
export { DockerfileError, codeFrame, type Diagnostic, type DockerfileErrorCode } from './dockerfile-error.js';
export { expandWord, expandWords, ExpansionError, type Vars } from './expand-word.js';
export { splitWords } from './split-words.js';
export type {
  Dockerfile,
  Instruction,
  CommandForm,
  KeyValue,
  From,
  Run,
  Copy,
  Env,
  Arg,
  SingleValue,
  CmdLike,
  Shell,
  WordList,
  Unmodelled,
} from './instructions.js';
export type { Position, SourceRange } from './source-range.js';
