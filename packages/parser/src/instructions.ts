import type { SourceRange } from './source-range.js';

/** The shell form keeps the command text for the shell; the exec form is an argv. */
export type CommandForm =
  | { readonly form: 'shell'; readonly text: string }
  | { readonly form: 'exec'; readonly args: readonly string[] };

/** Fields every instruction has: where it is and how it was written. */
interface Base {
  readonly range: SourceRange;
  /** The instruction's text as written, continuation lines included. */
  readonly source: string;
}

/** Key/value words are kept raw (quotes and `$` intact): the builder expands them in scope. */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

export interface From extends Base {
  readonly kind: 'from';
  readonly image: string;
  readonly stageName?: string;
  readonly platform?: string;
}
export interface Run extends Base {
  readonly kind: 'run';
  readonly command: CommandForm;
  readonly network?: string;
}
export interface Copy extends Base {
  readonly kind: 'copy' | 'add';
  readonly sources: readonly string[];
  readonly dest: string;
  readonly from?: string;
  readonly chown?: string;
  readonly chmod?: string;
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
/** Instructions recognised but not yet given typed fields (HEALTHCHECK, ONBUILD). */
export interface Unmodelled extends Base {
  readonly kind: 'healthcheck' | 'onbuild';
  readonly args: string;
}

export type Instruction =
  From | Run | Copy | Env | Arg | SingleValue | CmdLike | Shell | WordList | Unmodelled;

export interface Dockerfile {
  readonly file: string;
  readonly escape: string;
  readonly directives: ReadonlyMap<string, string>;
  readonly instructions: readonly Instruction[];
}
