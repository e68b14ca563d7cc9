// The set-up kiln's comparisons share (bench/ and qa/): a loopback docker-registry, a dockerd of
// our own in the scratch directory (BuildKit), base images published to that registry, and the
// clean-up of all of it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createDaemons, freePort, log, sh, waitFor } from './processes.mjs';

/** Debian's docker client (the one in /usr/local/bin, if any, lacks BuildKit's builder). */
export const DOCKER = '/usr/bin/docker';

/**
 * The scratch directory of a run (`workdir`, else a new `/tmp/PREFIX-XXXXXX`), its daemons, and
 * their clean-up at exit (see cleanUpOnExit): `{ W, daemons, cleanup }`.
 */
export function openScratch({ workdir, prefix, keep }) {
  const W = workdir || fs.mkdtempSync(`/tmp/${prefix}-`);
  fs.mkdirSync(W, { recursive: true });
  log(`scratch: ${W}`);
  const daemons = createDaemons(W);
  return { W, daemons, cleanup: cleanUpOnExit(W, daemons, { keep }) };
}

/**
 * Stops `daemons` and (unless `keep`) removes `scratch` when this process exits or is signalled:
 * synchronous, once. Returns the clean-up for an explicit call (the daemons keep the event loop
 * alive, so a run ends by calling it).
 */
export function cleanUpOnExit(scratch, daemons, { keep = false } = {}) {
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    daemons.stopAll();
    if (keep) return;
    // Overlay mounts left by a killed build would make rm fail: unmount what lies below first.
    const mounts = fs
      .readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter((m) => m && m.startsWith(scratch + '/'))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) spawnSync('umount', ['-l', m]);
    spawnSync('rm', ['-rf', scratch]);
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      cleanup();
      process.exit(130);
    });
  }
  return cleanup;
}

/** docker-registry on a free 127.0.0.1 port, storing under `scratch`; returns `localhost:PORT`. */
export async function startRegistry(daemons, scratch) {
  const port = await freePort();
  const reg = `localhost:${port}`;
  fs.mkdirSync(path.join(scratch, 'registry'), { recursive: true });
  fs.writeFileSync(
    path.join(scratch, 'registry.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${scratch}/registry\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  daemons.start('registry', '/usr/bin/docker-registry', ['serve', path.join(scratch, 'registry.yml')]);
  await waitFor('registry', async () => (await globalThis.fetch(`http://${reg}/v2/`)).ok);
  log(`registry on ${reg}`);
  return reg;
}

/**
 * dockerd with its data root, exec root and socket under `scratch/docker` (default networking,
 * else without bridge and iptables where the machine refuses them). Returns how to reach it:
 * `{ bin, env, pid }`, `env` selecting the socket, BuildKit and a private client config.
 */
export async function startDockerd(daemons, scratch) {
  const D = path.join(scratch, 'docker');
  fs.mkdirSync(D, { recursive: true });
  const env = {
    DOCKER_HOST: `unix://${D}/docker.sock`,
    DOCKER_BUILDKIT: '1',
    DOCKER_CONFIG: path.join(D, 'config'),
  };
  const start = async (extra) => {
    const p = daemons.start('dockerd', '/usr/sbin/dockerd', [
      '--data-root',
      path.join(D, 'data'),
      '--exec-root',
      path.join(D, 'exec'),
      '--pidfile',
      path.join(D, 'dockerd.pid'),
      '--host',
      `unix://${D}/docker.sock`,
      '--storage-driver',
      'overlay2',
      ...extra,
    ]);
    await waitFor(
      'dockerd',
      () => p.exitCode === null && sh(DOCKER, ['info'], { env, allowFail: true }).status === 0,
      60,
    );
  };
  try {
    await start([]);
  } catch {
    log('dockerd with default networking failed; retrying with --bridge=none --iptables=false');
    daemons.kill('dockerd');
    await start(['--bridge=none', '--iptables=false', '--ip6tables=false']);
  }
  const pid = Number(fs.readFileSync(path.join(D, 'dockerd.pid'), 'utf8'));
  log(`dockerd pid ${pid}`);
  return { bin: DOCKER, env, pid, dataRoot: path.join(D, 'data') };
}

/**
 * Publishes a root file system as the image `ref` in the loopback registry: `kiln import` into a
 * seed store under `scratch`, out as an OCI layout, pushed by skopeo (an independent client), so
 * that every tool pulls the same base from there.
 */
export function publishBase({ kiln, scratch, rootfsDir, ref, name }) {
  const seed = path.join(scratch, 'kiln-seed');
  const ctx = path.join(scratch, 'seedctx');
  fs.mkdirSync(ctx, { recursive: true });
  sh(kiln, ['--root', seed, 'import', rootfsDir, ref]);
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${ref}\n`);
  const layout = path.join(scratch, `${name}-oci`);
  sh(kiln, ['--root', seed, 'build', '-q', '--output', `type=oci,dest=${layout},tar=false`, ctx]);
  sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}`, `docker://${ref}`]);
  log(`base ${ref} pushed`);
}
