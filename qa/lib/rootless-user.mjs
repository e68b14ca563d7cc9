// An unprivileged user with subordinate ids, for building kiln's side of the QA in rootless mode.
import fs from 'node:fs';
import path from 'node:path';
import { sh } from '../../bench/lib/processes.mjs';

/**
 * Creates the user `name` with its home at `home` (below `scratch`, which becomes traversable)
 * and a subordinate uid and gid range of 65,536 each (added past every existing range when
 * useradd allotted none). Returns `{ name, home, uid, gid, command(cmd, args) }`: `command`
 * gives the argv that runs `cmd` as the user with a clean environment (PATH, HOME and the QA_*
 * variables cases read).
 * `remove()` deletes the user (userdel also drops its ranges); registered for process exit too.
 */
export function createRootlessUser(scratch, name) {
  fs.chmodSync(scratch, 0o755);
  const home = path.join(scratch, 'rootless-home');
  sh('useradd', ['-M', '-d', home, '-s', '/bin/sh', name]);
  const remove = () => sh('userdel', [name], { allowFail: true });
  process.on('exit', remove);
  fs.mkdirSync(home);
  const uid = Number(sh('id', ['-u', name]).stdout.trim());
  const gid = Number(sh('id', ['-g', name]).stdout.trim());
  fs.chownSync(home, uid, gid);
  for (const [file, flag] of [
    ['/etc/subuid', '--add-subuids'],
    ['/etc/subgid', '--add-subgids'],
  ]) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    if (lines.some((l) => l.startsWith(`${name}:`))) continue;
    const ends = lines
      .map((l) => l.split(':'))
      .filter((f) => f.length === 3)
      .map((f) => Number(f[1]) + Number(f[2]));
    const start = Math.max(100000, ...ends);
    sh('usermod', [flag, `${start}-${start + 65535}`, name]);
  }
  const command = (cmd, args) => [
    'runuser',
    [
      '-u',
      name,
      '--',
      'env',
      '-i',
      `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`,
      `HOME=${home}`,
      // What the cases read from the builder's environment (build-arg-from-env).
      ...Object.entries(process.env)
        .filter(([k]) => k.startsWith('QA_'))
        .map(([k, v]) => `${k}=${v}`),
      cmd,
      ...args,
    ],
  ];
  return { name, home, uid, gid, command, remove };
}
