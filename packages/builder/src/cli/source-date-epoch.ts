/**
 * SOURCE_DATE_EPOCH from the environment, in seconds: a whole non-negative number, else undefined
 * (unset, or not a number: ignored, as reproducible-builds.org asks of tools that cannot use it).
 */
export function sourceDateEpochOf(env: NodeJS.ProcessEnv): number | undefined {
  const epoch = env.SOURCE_DATE_EPOCH;
  return epoch !== undefined && /^\d+$/.test(epoch) ? Number(epoch) : undefined;
}
