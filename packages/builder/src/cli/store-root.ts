import { homedir } from 'node:os';
import { join } from 'node:path';

/** `--root`, else KILN_ROOT, else /var/lib/kiln for root, else the XDG data dir. */
export function storeRoot(flag: string | undefined, env: NodeJS.ProcessEnv, uid: number): string {
  if (flag) return flag;
  if (env.KILN_ROOT) return env.KILN_ROOT;
  if (uid === 0) return '/var/lib/kiln';
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'kiln');
}
