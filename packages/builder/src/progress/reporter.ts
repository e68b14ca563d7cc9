/** Progress of a build as events; the CLI renders them, tests collect them. */
export type BuildEvent =
  | { readonly type: 'step-start'; readonly id: number; readonly name: string }
  | {
      readonly type: 'step-log';
      readonly id: number;
      readonly stream: 'stdout' | 'stderr';
      readonly text: string;
    }
  | { readonly type: 'step-cached'; readonly id: number }
  | { readonly type: 'step-done'; readonly id: number; readonly seconds: number }
  | { readonly type: 'step-error'; readonly id: number; readonly message: string };

export interface Reporter {
  event(e: BuildEvent): void;
}

export const silentReporter: Reporter = { event: () => undefined };
