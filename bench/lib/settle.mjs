// What the harness does before every timed build from an empty cache.
import fs from 'node:fs';
import path from 'node:path';
import { sh } from './processes.mjs';

/**
 * Returns settle(case), to call before a timed build from an empty cache (cold, freshci), after
 * the tool's cleanup. This ext4 has no journal, and without one the kernel passes over inodes
 * freed in the last 60 s (300 s while their inode table block is dirty) when it allocates new
 * ones (fs/ext4/ialloc.c, recently_deleted), looking each up in the buffer cache: right after a
 * cleanup deleted 40,000 files, creating 20,000 costs ~180 µs each instead of ~15 (measured here
 * with a loop of open(O_CREAT)). Which tool had deleted what just before would decide the cold
 * rows. Writing back and dropping clean caches ends it (a block not cached counts as written out
 * long ago); then every tool's store (bases only at this point), the case's context and the
 * tools' own files are read back, so no tool pays disk reads the others do not.
 *
 * `stores`: the tools' store directories; `kiln`, `docker` ({ bin, env }): the executables run.
 */
export function makeSettle({ enabled, casesDir, stores, kiln, docker }) {
  return function settle(c) {
    if (!enabled) return;
    sh('sync', []);
    try {
      fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
    } catch {
      return; // not root: nothing dropped, nothing to read back
    }
    const kilnTree = path.resolve(fs.realpathSync(kiln), '../../../..');
    const binaries = ['runc', 'containerd-shim-runc-v2', 'buildah', 'docker-init']
      .map((b) => sh('which', [b], { allowFail: true }).stdout.trim())
      .filter(Boolean);
    const read = [
      path.join(casesDir, c),
      ...stores,
      ...['builder/bin', 'builder/dist', 'runner-native/dist', 'runner-native/native'].map((d) =>
        path.join(kilnTree, 'packages', d),
      ),
      process.execPath,
      docker.bin,
      ...binaries,
    ];
    const script = 'find "$@" -xdev -type f -print0 2>/dev/null | xargs -0 -r cat > /dev/null 2>&1; true';
    sh('sh', ['-c', script, 'settle', ...read], { allowFail: true });
    sh(kiln, ['--version'], { allowFail: true });
    sh(docker.bin, ['version'], { env: docker.env, allowFail: true });
    sh('buildah', ['--version'], { allowFail: true });
  };
}
