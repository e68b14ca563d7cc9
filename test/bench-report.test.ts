// The benchmark's arithmetic and options (bench/lib): what BENCHMARKS.md's table is computed from.
import { markdown, method, summarize as summarizeJs } from '../bench/lib/report.mjs';
import { parseOptions, runsOf } from '../bench/lib/options.mjs';

interface Sample {
  case: string;
  run: number;
  tool: string;
  scenario: string;
  status: string;
  secs?: number;
  rssKiB?: number;
  cpuSecs?: number;
  error?: string;
}

/** A row of summarize() (bench/lib is plain JavaScript: its shapes are stated here). */
interface Row {
  case: string;
  scenario: string;
  median: Record<string, number | null>;
  status: Record<string, string>;
  rssMiB: Record<string, number | null>;
  ratio: Record<string, number | null>;
  cpuRatio: Record<string, number | null>;
  error?: Record<string, string>;
}
interface SummaryOptions {
  tools: string[];
  scenarios: string[];
  cases: string[];
}
function summarize(samples: Sample[], opts: SummaryOptions): Row[] {
  return summarizeJs(samples, opts) as unknown as Row[];
}
function only(rows: Row[]): Row {
  expect(rows).toHaveLength(1);
  return rows[0] as Row;
}

const ok = (c: string, run: number, tool: string, scenario: string, secs: number, rssMiB = 100): Sample => ({
  case: c,
  run,
  tool,
  scenario,
  status: 'ok',
  secs,
  rssKiB: rssMiB * 1024,
  cpuSecs: secs / 2,
});

const base = { tools: ['kiln', 'buildkit'], scenarios: ['cold', 'push'] };

describe('summarize', () => {
  it('takes the ratio inside each run, then the median of those ratios', () => {
    // Medians of the times are 1.0 and 1.0 (ratio of medians 1.0); the per-run ratios are
    // 0.5, 0.5 and 3, whose median is 0.5: a slow moment of the machine in run 3 hits both.
    const samples = [
      ok('hello', 1, 'kiln', 'cold', 1),
      ok('hello', 1, 'buildkit', 'cold', 2),
      ok('hello', 2, 'kiln', 'cold', 0.5),
      ok('hello', 2, 'buildkit', 'cold', 1),
      ok('hello', 3, 'kiln', 'cold', 3),
      ok('hello', 3, 'buildkit', 'cold', 1),
    ];
    const row = only(summarize(samples, { ...base, cases: ['hello'], scenarios: ['cold'] }));
    expect(row).toMatchObject({ case: 'hello', scenario: 'cold' });
    expect(row.median).toEqual({ kiln: 1, buildkit: 1 });
    expect(row.ratio).toEqual({ buildkit: 0.5 });
    expect(row.cpuRatio).toEqual({ buildkit: 0.5 });
  });

  it('leaves a run out of the ratio when either tool failed in it, and says which failed', () => {
    const samples: Sample[] = [
      ok('hello', 1, 'kiln', 'push', 1),
      ok('hello', 1, 'buildkit', 'push', 4),
      ok('hello', 2, 'kiln', 'push', 1),
      { case: 'hello', run: 2, tool: 'buildkit', scenario: 'push', status: 'failed', error: 'x\ndenied' },
      ok('hello', 3, 'kiln', 'push', 2),
      ok('hello', 3, 'buildkit', 'push', 4),
    ];
    const row = only(summarize(samples, { ...base, cases: ['hello'], scenarios: ['push'] }));
    expect(row.ratio.buildkit).toBe(0.38); // median of 0.25 and 0.5
    expect(row.status).toEqual({ kiln: 'ok', buildkit: 'ok' });
    const none = only(
      summarize(
        samples.filter((s) => s.tool === 'kiln' || s.status !== 'ok'),
        { ...base, cases: ['hello'], scenarios: ['push'] },
      ),
    );
    expect(none.status.buildkit).toBe('failed');
    expect(none.error).toEqual({ buildkit: 'x denied' });
    expect(none.ratio.buildkit).toBeNull();
  });

  it("adds biglayer's build + push, summed inside each run", () => {
    const samples = [
      ok('biglayer', 1, 'kiln', 'cold', 10, 120),
      ok('biglayer', 1, 'kiln', 'push', 5, 60),
      ok('biglayer', 1, 'buildkit', 'cold', 20, 300),
      ok('biglayer', 1, 'buildkit', 'push', 30, 280),
    ];
    const rows = summarize(samples, { ...base, cases: ['biglayer'] });
    expect(rows.map((r) => r.scenario)).toEqual(['cold', 'push', 'cold+push']);
    const [cold, , sum] = rows as [Row, Row, Row];
    expect(sum.median).toEqual({ kiln: 15, buildkit: 50 });
    expect(sum.ratio.buildkit).toBe(0.3);
    expect(cold.rssMiB).toEqual({ kiln: 120, buildkit: 300 });
  });
});

describe('the table', () => {
  it('names how many runs each case had', () => {
    const samples = [1, 2, 3, 4, 5].flatMap((run) => [ok('hello', run, 'kiln', 'cold', 1)]);
    samples.push(ok('bigcontext', 1, 'kiln', 'cold', 9), ok('bigcontext', 2, 'kiln', 'cold', 9));
    const opts = { tools: ['kiln'], scenarios: ['cold'], cases: ['hello', 'bigcontext'] };
    expect(method(samples, opts)).toContain('over the runs of each case (hello 5, bigcontext 2)');
  });

  it('prints one line per row with the ratio in bold', () => {
    const samples = [ok('hello', 1, 'kiln', 'cold', 0.5), ok('hello', 1, 'buildkit', 'cold', 2)];
    const opts = { ...base, cases: ['hello'], scenarios: ['cold'] };
    const lines = markdown(summarize(samples, opts), opts).trim().split('\n');
    expect(lines[0]).toBe(
      '| case | scenario | kiln s | buildkit s | kiln/buildkit | CPU kiln/buildkit | kiln RSS MiB | buildkit RSS MiB |',
    );
    expect(lines[2]).toBe('| hello | cold | 0.50 | 2.00 | **0.25×** | 0.25× | 100 | 100 |');
  });
});

describe('bench/run options', () => {
  interface Options {
    cases: string[];
    help?: boolean;
  }
  const parse = (...argv: string[]) => parseOptions(argv, { resultsDir: '/r' }) as Options;

  it('gives the sub-second cases more runs than the others by default', () => {
    const opts = parse();
    expect(['hello', 'multistage', 'bigcontext', 'debian', 'biglayer'].map((c) => runsOf(c, opts))).toEqual([
      11, 11, 3, 3, 3,
    ]);
    expect(runsOf('biglayer', parse('--big-runs', '2'))).toBe(2);
  });

  it('never gives the small cases fewer runs than --runs, unless told', () => {
    expect(runsOf('hello', parse('--runs', '15'))).toBe(15);
    expect(runsOf('hello', parse('--runs', '15', '--small-runs', '5'))).toBe(5);
    expect(runsOf('bigcontext', parse('--small-runs', '5'))).toBe(3);
  });

  it('runs everything once with --quick', () => {
    const opts = parse('--quick');
    expect(opts.cases.map((c) => runsOf(c, opts))).toEqual([1, 1, 1]);
  });

  it('refuses what it does not understand', () => {
    expect(() => parse('--runs', '0')).toThrow('--runs needs a whole number of runs, not 0');
    expect(() => parse('--small-runs')).toThrow('--small-runs needs a value');
    expect(() => parse('--fast')).toThrow('unknown option --fast');
    expect(parse('--help')).toEqual({ help: true });
  });
});
