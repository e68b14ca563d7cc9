/** Progress of a build as events; the CLI renders them, tests collect them. */
export type BuildEvent =
  | { readonly type: 'step-start'; readonly id: number; readonly name: string }
  | {
      readonly type: 'step-log';
      readonly id: number;
      readonly stream: 'stdout' | 'stderr';
      readonly text: string;
    }
  | {
      readonly type: 'step-cached';
      readonly id: number;
      /**
       * A COPY whose reads of the build context were found unchanged by one stamp of them (no
       * file was read or hashed again).
       */
      readonly contextUnchanged?: true;
    }
  /**
   * Why a step that ran before missed the cache (inputs that differ from the last build).
   * `reasons` is worked out when first read: read it while handling the event, not after the
   * build (the last build's file lists it compares with may be gone by then).
   */
  | { readonly type: 'step-explain'; readonly id: number; readonly reasons: readonly string[] }
  | { readonly type: 'step-done'; readonly id: number; readonly seconds: number }
  | { readonly type: 'step-error'; readonly id: number; readonly message: string };

export interface Reporter {
  event(e: BuildEvent): void;
}

export const silentReporter: Reporter = { event: () => undefined };
