// The three builders as the benchmark drives them: the same operations (reset to bases only,
// build, push, fresh-CI build) for kiln, BuildKit inside dockerd, and Buildah.
import fs from 'node:fs';
import path from 'node:path';
import { cpuOf, procStatus, processTree, sh, timed } from './processes.mjs';

/**
 * The tools, given the run's setup: `kiln` (the executable measured) and `kilnHas(command)`,
 * `registry` (host:port), `base` (busybox's reference), `busyboxRootfs`, `casesDir`, `scratch`,
 * `kilnRoot` and `buildahDir` (the stores), `docker` ({ bin, env, pid: dockerd's }),
 * `basesOf(case)`, `netArgs(case)`, `settle(case)`. Each tool has reset(case) (an empty store
 * with the case's bases), build, push and freshci (each returns what timed() measured), cleanup().
 */
export function makeTools(ctx) {
  const { repo, kiln: KILN, kilnHas, registry: REG, base: BASE, busyboxRootfs: rootfs, casesDir: C } = ctx;
  const { basesOf, netArgs, settle } = ctx;
  const { bin: DOCKER, env: dockerEnv, pid: dockerdPid } = ctx.docker;
  const W = ctx.scratch;
  const timeFile = path.join(W, 'time.out');
  const run = (cmd, args, o = {}) => timed(cmd, args, { ...o, timeFile });
  const B = ctx.buildahDir;
  const buildahArgs = [
    '--root',
    path.join(B, 'root'),
    '--runroot',
    path.join(B, 'runroot'),
    '--storage-driver',
    'overlay',
  ];
  const logs = path.join(W, 'logs');
  fs.mkdirSync(logs, { recursive: true });

  return {
    kiln: {
      root: ctx.kilnRoot,
      version: () => {
        const pkg = JSON.parse(
          fs.readFileSync(path.join(repo, 'packages/builder/package.json'), 'utf8'),
        ).version;
        const rev = sh('git', ['-C', repo, 'rev-parse', '--short', 'HEAD'], {
          allowFail: true,
        }).stdout.trim();
        return `kiln ${pkg} (${rev}${sh('git', ['-C', repo, 'status', '--porcelain'], { allowFail: true }).stdout.trim() ? ', dirty tree' : ''}), node ${process.version}`;
      },
      reset(c) {
        sh('rm', ['-rf', this.root]);
        for (const b of basesOf(c)) sh(KILN, ['--root', this.root, 'pull', b], { allowFail: true });
        if (!sh(KILN, ['--root', this.root, 'images'], { allowFail: true }).stdout.includes(`${REG}/busybox`))
          sh(KILN, ['--root', this.root, 'import', rootfs, BASE]);
      },
      build(c, tag, extra = []) {
        return run(
          KILN,
          ['--root', this.root, 'build', '-q', ...netArgs(c), ...extra, '-t', tag, path.join(C, c)],
          {
            logFile: path.join(logs, `kiln-${c}.log`),
          },
        );
      },
      push(c, tag, dest) {
        if (!kilnHas('push')) return { unsupported: 'no `kiln push` command' };
        return run(KILN, ['--root', this.root, 'push', tag, `${dest}`], {
          logFile: path.join(logs, `kiln-${c}.log`),
        });
      },
      freshci(c, tag, ref) {
        // Seed on this store and export every step to the registry; then an empty store (a new CI
        // runner: only the base pulled) builds with the cache imported from there.
        const cache = `${ref.replace(/:[^:/]*$/, '')}-cache:latest`;
        const seedBuild = this.build(c, tag, ['--cache-to', `type=registry,ref=${cache},mode=max`]);
        if (!seedBuild.ok) return seedBuild;
        this.reset(c);
        settle(c);
        return this.build(c, tag, ['--cache-from', `type=registry,ref=${cache}`]);
      },
      cleanup() {
        sh('rm', ['-rf', this.root]);
      },
    },
    buildkit: {
      version: () => {
        const v = sh(DOCKER, ['version', '--format', '{{.Server.Version}}'], {
          env: dockerEnv,
          allowFail: true,
        }).stdout.trim();
        return `Docker Engine ${v} (Debian docker.io, built-in BuildKit), containerd ${sh('containerd', ['--version'], { allowFail: true }).stdout.split(' ')[2] || '?'}`;
      },
      docker(args, extraEnv) {
        return sh(DOCKER, args, { env: { ...dockerEnv, ...extraEnv }, allowFail: true });
      },
      reset(c) {
        const bases = basesOf(c);
        const imgs = this.docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])
          .stdout.split('\n')
          .filter((s) => s && !bases.includes(s));
        if (imgs.length) this.docker(['rmi', '-f', ...imgs]);
        this.docker(['builder', 'prune', '-af']);
        this.docker(['image', 'prune', '-f']);
        for (const b of bases)
          if (!this.docker(['image', 'inspect', b]).stdout.includes('Id'))
            sh(DOCKER, ['pull', '-q', b], { env: dockerEnv });
      },
      withDaemonPeak(fn) {
        const pids = processTree(dockerdPid);
        const cpu0 =
          cpuOf(dockerdPid, true) +
          pids.filter((p) => p !== dockerdPid).reduce((s, p) => s + cpuOf(p, true), 0);
        const before = pids.map((p) => procStatus(p, 'VmRSS') || 0);
        for (const p of pids)
          try {
            fs.writeFileSync(`/proc/${p}/clear_refs`, '5');
          } catch {
            // not there: nothing to do
          }
        const r = fn();
        // VmHWM of each daemon process since the reset, plus the docker client's own peak.
        const hwm = pids.reduce((s, p) => s + (procStatus(p, 'VmHWM') || 0), 0);
        r.daemonRssBeforeKiB = before.reduce((a, b) => a + b, 0);
        r.clientRssKiB = r.rssKiB;
        r.rssKiB = hwm + (r.rssKiB || 0);
        // CPU: the client's, plus what dockerd and its children (with reaped grandchildren) used meanwhile.
        const now = processTree(dockerdPid);
        const cpu1 = now.reduce((s, p) => s + cpuOf(p, true), 0);
        r.cpuSecs = (r.cpuSecs || 0) + Math.max(0, cpu1 - cpu0);
        return r;
      },
      build(c, tag, extra = []) {
        return this.withDaemonPeak(() =>
          run(DOCKER, ['build', '-q', ...netArgs(c), ...extra, '-t', tag, path.join(C, c)], {
            env: dockerEnv,
            logFile: path.join(logs, `buildkit-${c}.log`),
          }),
        );
      },
      push(c, tag, dest) {
        this.docker(['tag', tag, dest]);
        return this.withDaemonPeak(() =>
          run(DOCKER, ['push', '-q', dest], {
            env: dockerEnv,
            logFile: path.join(logs, `buildkit-${c}.log`),
          }),
        );
      },
      freshci(c, tag, ref) {
        // BuildKit in dockerd exports inline cache only: build with it, push, wipe everything, rebuild from it.
        const seedBuild = this.build(c, tag, ['--build-arg', 'BUILDKIT_INLINE_CACHE=1']);
        if (!seedBuild.ok) return seedBuild;
        this.docker(['tag', tag, ref]);
        this.docker(['push', '-q', ref]);
        this.reset(c);
        for (const i of this.docker(['images', '-q', ref]).stdout.split('\n').filter(Boolean))
          this.docker(['rmi', '-f', i]);
        settle(c);
        return this.build(c, tag, ['--cache-from', ref]);
      },
      cleanup() {
        this.reset('hello');
      },
    },
    buildah: {
      version: () => sh('buildah', ['--version']).stdout.trim(),
      reset(c) {
        sh('buildah', [...buildahArgs, 'rmi', '-a', '-f'], { allowFail: true });
        for (const b of basesOf(c)) sh('buildah', [...buildahArgs, 'pull', '-q', '--tls-verify=false', b]);
      },
      build(c, tag, extra = []) {
        return run(
          'buildah',
          [
            ...buildahArgs,
            'bud',
            '--isolation',
            'chroot',
            '--layers',
            '-q',
            ...netArgs(c),
            ...extra,
            '-t',
            tag,
            path.join(C, c),
          ],
          {
            logFile: path.join(logs, `buildah-${c}.log`),
          },
        );
      },
      push(c, tag, dest) {
        return run('buildah', [...buildahArgs, 'push', '-q', '--tls-verify=false', tag, `docker://${dest}`], {
          logFile: path.join(logs, `buildah-${c}.log`),
        });
      },
      freshci(c, tag, ref) {
        const cacheRepo = `${ref.replace(/:[^:/]*$/, '')}-cache`;
        const seedBuild = this.build(c, tag, ['--cache-to', cacheRepo, '--tls-verify=false']);
        if (!seedBuild.ok) return seedBuild;
        this.reset(c);
        settle(c);
        return this.build(c, tag, ['--cache-from', cacheRepo, '--tls-verify=false']);
      },
      cleanup() {
        sh('buildah', [...buildahArgs, 'rmi', '-a', '-f'], { allowFail: true });
      },
    },
  };
}
