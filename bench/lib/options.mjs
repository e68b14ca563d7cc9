// bench/run's command line: the options of one benchmark run, parsed. No effects.
import path from 'node:path';

export const usage = `usage: bench/run [options]
  --runs N          runs per case (default 3); tools alternate inside each run (A B C A B C ...)
  --small-runs N    runs for the cases whose steps take well under a second, hello and multistage:
                    their per-run ratios scatter most (default: 11, or --runs if larger)
  --big-runs N      runs for biglayer (default: --runs)
  --cases LIST      hello,multistage,bigcontext,biglayer,debian,debian-apt (default: all)
  --debian-rootfs D a debootstrap'ed Debian rootfs to use (default: made once with
                    scripts/make-debian-rootfs.sh and kept in /var/tmp/kiln-bench-debian)
  --tools LIST      kiln,buildkit,buildah (default: all)
  --scenarios LIST  cold,cached,changed,push,freshci (default: all)
  --quick           1 run of hello, multistage and a 2,000-file bigcontext
  --out DIR         results directory (default bench/results): results.json, results.md, ratios.svg
  --workdir DIR     scratch directory (default: a new one under /tmp, removed at the end)
  --keep            keep the scratch directory
  --no-snapshot     run kiln from the work tree instead of a copy taken at start
  --no-settle       skip dropping caches before cold and freshci builds (see settle.mjs)
  --kiln PATH       the kiln executable to measure (default: a copy of this work tree's)
  --report FILE     only re-render results.md and ratios.svg (into --out) from a results.json`;

/** The cases whose scenarios mostly take under a second: they get --small-runs. */
export const smallCases = ['hello', 'multistage'];

/**
 * Parses bench/run's arguments. Throws an Error whose message names the bad option; returns
 * `{ help: true }` for --help.
 */
export function parseOptions(argv, { resultsDir }) {
  const opts = {
    runs: 3,
    smallRuns: 0, // 0: max(11, runs)
    bigRuns: 0, // 0: same as runs
    cases: ['hello', 'multistage', 'bigcontext', 'biglayer', 'debian', 'debian-apt'],
    debianRootfs: '/var/tmp/kiln-bench-debian',
    tools: ['kiln', 'buildkit', 'buildah'],
    scenarios: ['cold', 'cached', 'changed', 'push', 'freshci'],
    out: resultsDir,
    workdir: '',
    keep: false,
    snapshot: true,
    settle: true,
    files: 20000,
    bytes: 100_000_000,
    bigBytes: 1024 * 1024 * 1024,
  };
  const count = (a, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${a} needs a whole number of runs, not ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--runs') opts.runs = count(a, val());
    else if (a === '--small-runs') opts.smallRuns = count(a, val());
    else if (a === '--big-runs') opts.bigRuns = count(a, val());
    else if (a === '--cases') opts.cases = val().split(',');
    else if (a === '--tools') opts.tools = val().split(',');
    else if (a === '--scenarios') opts.scenarios = val().split(',');
    else if (a === '--out') opts.out = path.resolve(val());
    else if (a === '--workdir') opts.workdir = path.resolve(val());
    else if (a === '--keep') opts.keep = true;
    else if (a === '--no-snapshot') opts.snapshot = false;
    else if (a === '--no-settle') opts.settle = false;
    else if (a === '--kiln') opts.kiln = path.resolve(val());
    else if (a === '--debian-rootfs') opts.debianRootfs = path.resolve(val());
    else if (a === '--report') opts.report = path.resolve(val());
    else if (a === '--quick') {
      // A few minutes: the small cases, a smaller bigcontext, one run, no biglayer.
      opts.runs = 1;
      opts.smallRuns = 1;
      opts.cases = ['hello', 'multistage', 'bigcontext'];
      opts.files = 2000;
      opts.bytes = 10_000_000;
    } else if (a === '--help' || a === '-h') return { help: true };
    else throw new Error(`unknown option ${a}`);
  }
  if (!opts.bigRuns) opts.bigRuns = opts.runs;
  if (!opts.smallRuns) opts.smallRuns = Math.max(11, opts.runs);
  return opts;
}

/** How many runs a case gets under these options. */
export function runsOf(c, opts) {
  if (c === 'biglayer') return opts.bigRuns;
  if (smallCases.includes(c)) return opts.smallRuns ?? opts.runs;
  return opts.runs;
}
