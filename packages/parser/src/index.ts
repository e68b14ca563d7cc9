export { parseDockerfile, type ParseOptions } from './parse-dockerfile.js';
export {
  parseDockerfileNodes,
  type DockerfileNodes,
  type ErrorDiagnostic,
  type NodeParseOptions,
} from './parse-dockerfile-nodes.js';
export { chompHeredoc, type DockerfileNode, type Heredoc } from './dockerfile-node.js';
export { dumpAst } from './dump-ast.js';
export { goQuote } from './go-quote.js';
export {
  DockerfileError,
  codeFrame,
  type Diagnostic,
  type DockerfileErrorCode,
  type DockerfileWarningCode,
} from './dockerfile-error.js';
export { expandWord, expandWords, ExpansionError, type LexOptions, type Vars } from './expand-word.js';
export { splitWords } from './split-words.js';
export { parseDuration } from './parse-duration.js';
export type { Mount, MountType } from './parse-mount.js';
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
  Healthcheck,
  Onbuild,
} from './instructions.js';
export type { Position, SourceRange } from './source-range.js';
