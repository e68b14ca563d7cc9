// Running commands and daemons for the benchmark, and reading their CPU and memory from /proc.
import { spawnSync, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** Progress lines on stderr, with the time of day. */
export const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

/**
 * Runs a command to its end (killed after `timeout` ms if given); throws with its stderr's tail when
 * it fails, unless allowFail.
 */
export function sh(cmd, args, { env, allowFail = false, input, cwd, timeout } = {}) {
  const r = spawnSync(cmd, args, {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    input,
    cwd,
    timeout,
    killSignal: 'SIGKILL',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0 && !allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${(r.stderr || '').slice(-3000)}`);
  }
  return r;
}

/**
 * Runs a command under /usr/bin/time (which writes to `timeFile`): wall seconds (hrtime), CPU
 * seconds and peak RSS in KiB of the command and its reaped children, the load average after,
 * status and the output's tail. The command and its output are appended to `logFile` if given.
 */
export function timed(cmd, args, { env, logFile, timeFile }) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', '-o', timeFile, cmd, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  let rssKiB = null;
  let cpuSecs = null;
  try {
    const lines = fs.readFileSync(timeFile, 'utf8').trim().split('\n');
    const [u, sy, m] = lines[lines.length - 1].split(' ').map(Number);
    rssKiB = m || null;
    cpuSecs = u + sy;
  } catch {
    // not there: nothing to do
  }
  if (logFile) fs.appendFileSync(logFile, `$ ${cmd} ${args.join(' ')}\n${r.stdout}${r.stderr}\n`);
  return {
    secs,
    rssKiB,
    cpuSecs,
    load1: Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
    ok: r.status === 0,
    tail: `${r.stdout}\n${r.stderr}`.trim().slice(-1500),
  };
}

/**
 * The daemons of one run (registry, dockerd). Each starts in its own process group, logging to
 * `<scratch>/<name>.log`; its pid goes to `<scratch>/daemons.pids` for bench/run's trap, which
 * stops them if this process dies without calling stopAll.
 */
export function createDaemons(scratch) {
  const children = [];
  return {
    start(name, cmd, args, env) {
      const out = fs.openSync(path.join(scratch, `${name}.log`), 'a');
      const p = spawn(cmd, args, {
        env: { ...process.env, ...env },
        stdio: ['ignore', out, out],
        detached: true,
      });
      children.push({ name, p });
      fs.appendFileSync(path.join(scratch, 'daemons.pids'), `${p.pid}\n`);
      return p;
    },
    /** Kills every daemon named `name` at once (a start that has to be retried differently). */
    kill(name) {
      for (const c of children.filter((c) => c.name === name)) signalGroup(c.p.pid, 'SIGKILL');
    },
    /** SIGTERM to each (last started first), then SIGKILL to any still there after 10 s. Synchronous. */
    stopAll() {
      for (const { name, p } of children.splice(0).reverse()) {
        if (p.exitCode !== null) continue;
        signalGroup(p.pid, 'SIGTERM');
        // dockerd takes a few seconds to stop its containerd; wait, then insist.
        for (let i = 0; i < 100 && isAlive(p.pid); i++) spawnSync('sleep', ['0.1']);
        if (isAlive(p.pid)) {
          log(`${name} did not stop, killing`);
          signalGroup(p.pid, 'SIGKILL');
        }
      }
    },
  };
}

function signalGroup(pid, sig) {
  try {
    process.kill(-pid, sig);
  } catch {
    // not there: nothing to do
  }
}

/** Whether a process exists; a child we have not reaped yet (a zombie) counts as gone. */
export function isAlive(pid) {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Polls `fn` every 250 ms until it returns true; throws after `secs`. */
export async function waitFor(what, fn, secs = 60) {
  for (let i = 0; i < secs * 4; i++) {
    try {
      if (await fn()) return;
    } catch {
      // not there: nothing to do
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A numeric field of /proc/PID/status (VmRSS, VmHWM: KiB); null if the process is gone. */
export function procStatus(pid, key) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

let clockTicks = 0;
/** utime+stime (+ reaped children's) of a process, in seconds; 0 if it is gone. */
export function cpuOf(pid, withChildren) {
  clockTicks ||= Number(sh('getconf', ['CLK_TCK']).stdout) || 100;
  try {
    const f = fs
      .readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    // fields after ") ": state is [0], utime [11], stime [12], cutime [13], cstime [14]
    const t = +f[11] + +f[12] + (withChildren ? +f[13] + +f[14] : 0);
    return t / clockTicks;
  } catch {
    return 0;
  }
}

/** A process and all its descendants now (dockerd: containerd, shims, BuildKit's workers). */
export function processTree(rootPid) {
  const r = sh('ps', ['-e', '-o', 'pid=,ppid='], { allowFail: true })
    .stdout.trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
  const set = new Set([rootPid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of r) {
      if (set.has(ppid) && !set.has(pid)) {
        set.add(pid);
        grew = true;
      }
    }
  }
  return [...set];
}
