import { rootlessIdMaps, runInUserNamespace } from '@kiln/runner-native';
import { storeRoot } from './store-root.js';

/**
 * Rootless mode: when a user other than root starts kiln, this runs the same command again as
 * root of a user namespace (0 = the user, 1..N = the user's /etc/subuid and /etc/subgid ranges;
 * a single-id map, with a warning, when there are none) and returns its exit code. Everything
 * kiln does then (unpacking layers with their owners, overlay mounts, RUN sandboxes) happens
 * inside that namespace, so files of other owners land on subordinate ids on the host.
 * The store stays the user's (`storeRoot` for the user's uid is handed on as KILN_ROOT, since
 * inside the namespace kiln is uid 0). Prints setup errors itself.
 */
export async function enterRootless(): Promise<number> {
  try {
    const maps = rootlessIdMaps();
    if (maps.warning !== undefined) process.stderr.write(`kiln: warning: ${maps.warning}\n`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KILN_ROOT: storeRoot(undefined, process.env, process.getuid?.() ?? 0),
    };
    // As bin/kiln does: the inner kiln (bin/kiln.js) puts it back, and its Node does not build
    // the root store at start (see bin/extra-ca-certs.cjs).
    if (env.NODE_EXTRA_CA_CERTS) {
      env.KILN_NODE_EXTRA_CA_CERTS = env.NODE_EXTRA_CA_CERTS;
      delete env.NODE_EXTRA_CA_CERTS;
    }
    const command = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
    const run = runInUserNamespace(command, maps, env);
    // A terminal sends its SIGINT to the whole process group, the inner kiln included: forwarding
    // it again would count as a second Ctrl-C (exit without cleanup). Without a terminal, a
    // SIGINT can only come from another process, so it is passed on.
    const terminal = process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY;
    const forwarded = terminal
      ? (['SIGTERM', 'SIGHUP'] as const)
      : (['SIGTERM', 'SIGHUP', 'SIGINT'] as const);
    for (const sig of forwarded) process.on(sig, () => run.kill(sig));
    if (terminal) process.on('SIGINT', () => undefined);
    return await run.exited;
  } catch (err) {
    const { renderError } = await import('./render-error.js');
    process.stderr.write(renderError(err));
    return 1;
  }
}
