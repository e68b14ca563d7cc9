import type { Diagnostic } from './dockerfile-error.js';
import type { Heredoc } from './dockerfile-node.js';
import type { Mount } from './parse-mount.js';
import type { SourceRange } from './source-range.js';

/** The shell form keeps the command text for the shell; the exec form is an argv. */
export type CommandForm =
  | { readonly form: 'shell'; readonly text: string }
  | { readonly form: 'exec'; readonly args: readonly string[] };

/** Fields every instruction has: where it is and how it was written. */
interface Base {
  readonly range: SourceRange;
  /** The instruction's text as written, continuation lines (and heredoc bodies) included. */
  readonly source: string;
}

/** Key/value words are kept raw (quotes and `$` intact): the builder expands them in scope. */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

/**
 * Flag values and words are kept raw (quotes of flags removed, `$` intact) unless said
 * otherwise: the builder expands them in scope.
 */
export interface From extends Base {
  readonly kind: 'from';
  readonly image: string;
  /** Lower-cased, as stage names are matched case-insensitively. */
  readonly stageName?: string;
  readonly platform?: string;
}
export interface Run extends Base {
  readonly kind: 'run';
  /** The shell text keeps `<<EOF` words; the bodies are in `heredocs`. */
  readonly command: CommandForm;
  readonly network?: 'default' | 'none' | 'host';
  readonly security?: 'sandbox' | 'insecure';
  readonly mounts: readonly Mount[];
  readonly heredocs: readonly Heredoc[];
}
/** COPY or ADD. Sources written as `<<NAME` are in `heredocs`, not in `sources`. */
export interface Copy extends Base {
  readonly kind: 'copy' | 'add';
  readonly sources: readonly string[];
  readonly dest: string;
  /** COPY only. */
  readonly from?: string;
  readonly chown?: string;
  readonly chmod?: string;
  readonly link: boolean;
  readonly parents: boolean;
  readonly exclude: readonly string[];
  /** ADD only. */
  readonly checksum?: string;
  /** ADD only (git sources). */
  readonly keepGitDir: boolean;
  /** ADD only: whether to unpack archives; undefined means ADD's default (local archives). */
  readonly unpack?: boolean;
  readonly heredocs: readonly Heredoc[];
}
export interface Env extends Base {
  readonly kind: 'env' | 'label';
  readonly pairs: readonly KeyValue[];
}
export interface Arg extends Base {
  readonly kind: 'arg';
  readonly args: readonly { readonly name: string; readonly defaultValue?: string }[];
}
/** Instructions whose argument is one (raw) word or string: WORKDIR, USER, STOPSIGNAL, MAINTAINER. */
export interface SingleValue extends Base {
  readonly kind: 'workdir' | 'user' | 'stopsignal' | 'maintainer';
  readonly value: string;
}
export interface CmdLike extends Base {
  readonly kind: 'cmd' | 'entrypoint';
  readonly command: CommandForm;
}
export interface Shell extends Base {
  readonly kind: 'shell';
  readonly args: readonly string[];
}
export interface WordList extends Base {
  readonly kind: 'expose' | 'volume';
  readonly values: readonly string[];
}
/** HEALTHCHECK NONE, or HEALTHCHECK [options] CMD; durations are in nanoseconds as in image configs. */
export interface Healthcheck extends Base {
  readonly kind: 'healthcheck';
  readonly test: { readonly type: 'none' } | { readonly type: 'cmd'; readonly command: CommandForm };
  readonly interval?: number;
  readonly timeout?: number;
  readonly startPeriod?: number;
  readonly startInterval?: number;
  readonly retries?: number;
}
/** ONBUILD: the trigger is parsed (and validated) like any instruction, but never FROM or ONBUILD. */
export interface Onbuild extends Base {
  readonly kind: 'onbuild';
  readonly trigger: Instruction;
}

export type Instruction =
  From | Run | Copy | Env | Arg | SingleValue | CmdLike | Shell | WordList | Healthcheck | Onbuild;

export interface Dockerfile {
  readonly file: string;
  readonly escape: string;
  /** Parser directives found at the top (`syntax`, `escape`, `check`), keys lower-cased. */
  readonly directives: ReadonlyMap<string, string>;
  readonly instructions: readonly Instruction[];
  /** Problems that do not stop a build (BuildKit's lint rules); never thrown. */
  readonly warnings: readonly Diagnostic[];
}
