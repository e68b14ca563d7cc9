// Differential QA: every case of qa/cases.mjs built by kiln and by BuildKit (Debian's docker.io,
// a dockerd of our own), both images pushed to a loopback registry, read back the same way
// (skopeo, umoci) and compared: config, history, layer count, every file's type, mode, owner, content,
// link, hard-link group, mtime and xattrs. Differences a case does not list as known fail the run.
// Started by qa/run, which owns the scratch directory; `qa/run --help` for options.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openScratch, publishBase, startDockerd, startRegistry } from '../bench/lib/peers.mjs';
import { freePort, log, sh, waitFor } from '../bench/lib/processes.mjs';
import { GLOBAL_KNOWN, cases } from './cases.mjs';
import { diffImages, judge } from './lib/compare.mjs';
import { writeContext } from './lib/context.mjs';
import { createRootlessUser } from './lib/rootless-user.mjs';
import { viewImage } from './lib/image-view.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

const usage = `qa/run [options]: build every case with kiln and BuildKit and compare the images
  --cases a,b         only these cases (default: all; names in qa/cases.mjs)
  --json FILE         write the verdicts as JSON
  --kiln PATH         the kiln command (default: packages/builder/bin/kiln)
  --debian-rootfs DIR debootstrap root for cases that need Debian (default /var/tmp/kiln-bench-debian;
                      made with scripts/make-debian-rootfs.sh when --debian is given and it is missing)
  --debian            run the Debian cases (else only when the rootfs exists)
  --rootless          build kiln's side as an unprivileged user with subordinate ids (rootless
                      mode); cases' \`knownRootless\` add to their known differences
  --workdir DIR       scratch directory (default: a new one under /tmp)
  --keep              keep the scratch directory and its images
  --verbose           print accepted differences too`;

function parseOptions(argv) {
  const o = { cases: Object.keys(cases), debianRootfs: '/var/tmp/kiln-bench-debian' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--cases') o.cases = value().split(',').filter(Boolean);
    else if (a === '--json') o.json = path.resolve(value());
    else if (a === '--kiln') o.kiln = path.resolve(value());
    else if (a === '--debian-rootfs') o.debianRootfs = path.resolve(value());
    else if (a === '--debian') o.debian = true;
    else if (a === '--rootless') o.rootless = true;
    else if (a === '--workdir') o.workdir = path.resolve(value());
    else if (a === '--keep') o.keep = true;
    else if (a === '--verbose') o.verbose = true;
    else if (a === '-h' || a === '--help') o.help = true;
    else throw new Error(`unknown option ${a}`);
  }
  for (const c of o.cases) if (!cases[c]) throw new Error(`unknown case ${c}`);
  return o;
}

let opts;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (e) {
  console.error(`qa: ${e.message}\n${usage}`);
  process.exit(2);
}
if (opts.help) {
  console.log(usage);
  process.exit(0);
}

// ---------------------------------------------------------------- setup
const { W, daemons, cleanup } = openScratch({ workdir: opts.workdir, prefix: 'kiln-qa', keep: opts.keep });
const KILN = opts.kiln || path.join(repo, 'packages/builder/bin/kiln');

log('ensuring Debian packages');
sh('bash', [
  path.join(repo, 'scripts/ensure-packages.sh'),
  'docker.io',
  'docker-registry',
  'skopeo',
  'umoci',
  'attr',
  'busybox-static',
  'bzip2',
  'xz-utils',
  'zstd',
  ...(opts.rootless ? ['uidmap', 'passwd', 'util-linux'] : []),
]);
const rootfs = path.join(W, 'busybox-rootfs');
sh('bash', [path.join(repo, 'scripts/make-busybox-rootfs.sh'), rootfs]);

const REG = await startRegistry(daemons, W);
// Files ADD fetches by URL: a plain HTTP server on loopback (dockerd, on the host network, reaches
// it too), serving what the cases' `served` describe, with Last-Modified from the files' times.
const served = path.join(W, 'served');
for (const name of opts.cases)
  if (cases[name].served) writeContext(path.join(served, name), { files: cases[name].served });
fs.mkdirSync(served, { recursive: true });
const httpPort = await freePort();
daemons.start('http', 'python3', [
  '-m',
  'http.server',
  '--bind',
  '127.0.0.1',
  '--directory',
  served,
  String(httpPort),
]);
await waitFor('http server', async () => (await globalThis.fetch(`http://127.0.0.1:${httpPort}/`)).ok);
const docker = await startDockerd(daemons, W);
const base = `${REG}/busybox:latest`;
publishBase({ kiln: KILN, scratch: W, rootfsDir: rootfs, ref: base, name: 'busybox' });
const debian = `${REG}/debian:bookworm`;
const selected = opts.cases.filter((c) => {
  if (opts.rootless && cases[c].notRootless) {
    log(`${c}: skipped in rootless mode (${cases[c].notRootless})`);
    return false;
  }
  if (cases[c].needs !== 'debian') return true;
  if (!fs.existsSync(path.join(opts.debianRootfs, 'etc/debian_version'))) {
    if (!opts.debian) {
      log(`${c}: skipped (no Debian rootfs in ${opts.debianRootfs}; --debian makes one)`);
      return false;
    }
    log(`making a Debian rootfs in ${opts.debianRootfs} with debootstrap (a few minutes)`);
    sh('bash', [path.join(repo, 'scripts/make-debian-rootfs.sh'), opts.debianRootfs]);
  }
  return true;
});
if (selected.some((c) => cases[c].needs === 'debian')) {
  publishBase({ kiln: KILN, scratch: W, rootfsDir: opts.debianRootfs, ref: debian, name: 'debian' });
}

const kilnRoot = path.join(W, 'kiln-root');
const rootless = opts.rootless ? createRootlessUser(W, `kilnqa${process.pid % 100000}`) : undefined;
/** The argv of a kiln command, as root or as the rootless user (with a store in its home). */
function kilnCommand(args) {
  if (rootless === undefined) return [KILN, ['--root', kilnRoot, ...args]];
  return rootless.command(KILN, ['--root', path.join(rootless.home, 'store'), ...args]);
}
const TIMEOUT_MS = 5 * 60 * 1000;
/** Runs a build or push; its outcome `{ ok, output }` (never throws). */
function attempt(cmd, args, env) {
  const r = sh(cmd, args, { env, allowFail: true, timeout: TIMEOUT_MS });
  return {
    ok: r.status === 0,
    output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`,
  };
}
const builders = {
  kiln: (ctx, ref, args) => {
    // A rootless user builds a context of its own, as anyone would.
    if (rootless) sh('chown', ['-R', `${rootless.uid}:${rootless.gid}`, ctx]);
    const built = attempt(...kilnCommand(['build', '-q', ...args, '-t', ref, ctx]));
    return built.ok ? attempt(...kilnCommand(['push', ref])) : built;
  },
  buildkit: (ctx, ref, args) => {
    const built = attempt(docker.bin, ['build', '-q', ...args, '-t', ref, ctx], docker.env);
    return built.ok ? attempt(docker.bin, ['push', '-q', ref], docker.env) : built;
  },
};
const names = Object.keys(builders);

// ---------------------------------------------------------------- cases
// For the build-arg-from-env case: `--build-arg NAME` reads the client's environment.
process.env.QA_FROM_ENV = 'from-the-environment';
delete process.env.QA_UNSET_ENV;
// Files the builds make get this run's clock: anything at or after it is compared as `build`.
const buildStartMs = Date.now() - 1000;
const verdicts = [];
for (const name of selected) {
  const c = cases[name];
  const ctx = path.join(W, 'cases', name);
  const http = `http://127.0.0.1:${httpPort}/${name}`;
  writeContext(ctx, { dockerfile: c.dockerfile({ base, reg: REG, debian, http }), files: c.files });
  const outcomes = names.map((tool) => builders[tool](ctx, `${REG}/qa/${name}:${tool}`, c.args ?? []));
  let diffs = [];
  if (outcomes.every((o) => o.ok)) {
    const views = names.map((tool) => {
      const dir = path.join(W, 'views', `${name}-${tool}`);
      fs.mkdirSync(dir, { recursive: true });
      try {
        return viewImage(`${REG}/qa/${name}:${tool}`, dir, { buildStartMs });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
    diffs = diffImages(views[0], views[1], names);
  }
  const v = judge({
    outcomes,
    names,
    diffs,
    known: { ...c.known, ...(rootless ? c.knownRootless : {}) },
    everywhere: GLOBAL_KNOWN,
    expectFailure: c.expectFailure,
  });
  verdicts.push({ case: name, about: c.about, ...v });
  log(`${name}: ${v.status}${v.accepted.length ? ` (${v.accepted.length} known)` : ''}`);
}

// ---------------------------------------------------------------- report
const bad = verdicts.filter((v) => v.unexpected.length > 0 || v.stale.length > 0);
for (const v of verdicts) {
  if (v.unexpected.length === 0 && v.stale.length === 0 && !(opts.verbose && v.accepted.length)) continue;
  console.log(`\n## ${v.case}: ${v.status} — ${v.about}`);
  for (const d of v.unexpected) console.log(`  ${d.key}\n${indent(d.detail)}`);
  for (const s of v.stale) console.log(`  known difference no longer seen: ${s.pattern} (${s.reason})`);
  if (opts.verbose)
    for (const d of v.accepted) console.log(`  [known: ${d.reason}] ${d.key}\n${indent(d.detail)}`);
}
const count = (s) => verdicts.filter((v) => v.status === s).length;
console.log(
  `\n${verdicts.length} cases: ${count('same')} same, ${count('known')} with known differences only, ` +
    `${count('both-failed')} refused by both, ${bad.length} with unexpected differences`,
);
if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ registry: REG, verdicts }, null, 2) + '\n');
cleanup();
process.exit(bad.length ? 1 : 0);

function indent(text) {
  return String(text)
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');
}
