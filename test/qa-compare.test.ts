// The differential QA's comparison (qa/lib/compare.mjs): what counts as a difference between two
// tools' images, under which key, and how a case's known differences are matched. The harness
// itself (qa/run) runs both builders for real; this checks its judgement on made-up views.
import { canonical, classify, diffImages, judge, textDiff } from '../qa/lib/compare.mjs';

type Entry = Record<string, string | number>;

interface View {
  config: Record<string, unknown>;
  layers: number;
  files: Map<string, Entry>;
}

const NAMES = ['kiln', 'buildkit'];

function view(files: Record<string, Entry>, config: Record<string, unknown> = {}, layers = 1): View {
  return { config, layers, files: new Map(Object.entries(files)) };
}

const dir = (extra: Entry = {}): Entry => ({ type: 'dir', mode: '0755', uid: 0, gid: 0, mtime: 0, ...extra });
const file = (extra: Entry = {}): Entry => ({
  type: 'file',
  mode: '0644',
  uid: 0,
  gid: 0,
  mtime: 0,
  size: 3,
  sha256: 'aaaa',
  ...extra,
});

describe('diffImages', () => {
  it('finds nothing between equal views, whatever the order of config maps', () => {
    const a = view({ '/': dir(), '/f': file() }, { Env: ['A=1'], Labels: { a: '1', b: '2' } });
    const b = view({ '/f': file(), '/': dir() }, { Env: ['A=1'], Labels: { b: '2', a: '1' } });
    expect(diffImages(a, b, NAMES)).toEqual([]);
  });

  it('names each differing config field, the layer count and each file attribute', () => {
    const a = view({ '/': dir(), '/f': file({ mode: '0600' }) }, { Env: ['A=1'], User: '1' }, 2);
    const b = view({ '/': dir(), '/f': file({ uid: 5 }) }, { Env: ['A=2'] }, 3);
    expect(diffImages(a, b, NAMES).map((d) => d.key)).toEqual([
      'config.Env',
      'config.User',
      'fs:/f:mode',
      'fs:/f:uid',
      'layers',
    ]);
  });

  it("gives a directory's time its own key, a file's time the plain one", () => {
    const a = view({ '/': dir(), '/d': dir({ mtime: 0 }), '/f': file({ mtime: 0 }) });
    const b = view({ '/': dir(), '/d': dir({ mtime: 'build' }), '/f': file({ mtime: 'build' }) });
    expect(diffImages(a, b, NAMES).map((d) => d.key)).toEqual(['fs:/d:dir-mtime', 'fs:/f:mtime']);
  });

  it('lists a directory only one side has once, not everything below it', () => {
    const a = view({ '/': dir(), '/x': dir(), '/x/y': dir(), '/x/y/z': file(), '/xz': file() });
    const b = view({ '/': dir() });
    expect(diffImages(a, b, NAMES)).toEqual([
      { key: 'fs:/x:only-kiln', detail: 'dir only in kiln' },
      { key: 'fs:/xz:only-kiln', detail: 'file only in kiln' },
    ]);
  });

  it('compares histories entry by entry (text and empty layer; times and comments aside)', () => {
    const entry = (created_by: string, empty = false, created = '2026-01-01T00:00:00Z') => ({
      created_by,
      created,
      comment: 'buildkit.dockerfile.v0',
      ...(empty ? { empty_layer: true } : {}),
    });
    const a = { ...view({}), history: [entry('ARG A', true), entry('RUN x # buildkit')] };
    const same = {
      ...view({}),
      history: [entry('ARG A', true, 'other'), entry('RUN x # buildkit', false, 'x')],
    };
    expect(diffImages(a, same, NAMES)).toEqual([]);
    const b = { ...view({}), history: [entry('RUN x # buildkit')] };
    expect(diffImages(a, b, NAMES)).toEqual([
      {
        key: 'history',
        detail:
          '#0 - kiln: ARG A [empty]\n#0 + buildkit: RUN x # buildkit\n#1 - kiln: RUN x # buildkit\n#1 + buildkit: (none)',
      },
    ]);
  });

  it('shows the differing lines of small text files instead of their digests', () => {
    const a = view({ '/t': file({ sha256: '1', text: 'same\nmine\n' }) });
    const b = view({ '/t': file({ sha256: '2', text: 'same\ntheirs\n' }) });
    expect(diffImages(a, b, NAMES)).toEqual([
      { key: 'fs:/t:sha256', detail: '- kiln: mine\n+ buildkit: theirs' },
    ]);
  });
});

describe('classify and judge', () => {
  const diffs = [
    { key: 'fs:/a/b:uid', detail: '' },
    { key: 'fs:/c:dir-mtime', detail: '' },
    { key: 'layers', detail: '' },
  ];

  it('accepts what a pattern names, reports the rest and the patterns that named nothing', () => {
    const r = classify(
      diffs,
      { 'fs:/a/*:uid': 'why', 'config.Env': 'stale reason' },
      { 'fs:*:dir-mtime': 'g' },
    );
    expect(r.unexpected.map((d) => d.key)).toEqual(['layers']);
    expect(r.accepted.map((d) => [d.key, d.reason])).toEqual([
      ['fs:/a/b:uid', 'why'],
      ['fs:/c:dir-mtime', 'g'],
    ]);
    // A case's own pattern that matched nothing is stale; an everywhere pattern never is.
    expect(r.stale).toEqual([{ pattern: 'config.Env', reason: 'stale reason' }]);
  });

  it('takes a pattern literally but for *', () => {
    expect(classify([{ key: 'fs:/a.b:mode', detail: '' }], { 'fs:/a?b:mode': 'x' }).unexpected).toHaveLength(
      1,
    );
    expect(classify([{ key: 'fs:/aXb:mode', detail: '' }], { 'fs:/a.b:mode': 'x' }).unexpected).toHaveLength(
      1,
    );
  });

  it('judges outcomes before images: one tool failing is a difference, both failing only if unexpected', () => {
    const built = { ok: true, output: '' };
    const failed = { ok: false, output: 'line 1\nerror: boom\n' };
    const one = judge({ outcomes: [built, failed], names: NAMES });
    expect(one.status).toBe('outcome');
    expect(one.unexpected[0]?.detail).toBe('kiln: built\nbuildkit: failed: line 1 | error: boom');
    expect(judge({ outcomes: [failed, failed], names: NAMES, expectFailure: true }).status).toBe(
      'both-failed',
    );
    expect(judge({ outcomes: [failed, failed], names: NAMES }).status).toBe('outcome');
    expect(judge({ outcomes: [built, built], names: NAMES, expectFailure: true }).status).toBe('outcome');
  });

  it('is same, known or differs by what classify found', () => {
    const ok = { ok: true, output: '' };
    expect(judge({ outcomes: [ok, ok], names: NAMES, diffs: [] }).status).toBe('same');
    expect(judge({ outcomes: [ok, ok], names: NAMES, diffs, known: { '*': 'all' } }).status).toBe('known');
    expect(judge({ outcomes: [ok, ok], names: NAMES, diffs, known: { layers: 'x' } }).status).toBe('differs');
    expect(judge({ outcomes: [ok, ok], names: NAMES, diffs: [], known: { layers: 'x' } }).status).toBe(
      'differs',
    );
  });
});

describe('helpers', () => {
  it('canonical sorts object keys at every depth and marks absence', () => {
    expect(canonical({ b: [{ d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[{"c":2,"d":1}]}');
    expect(canonical(undefined)).toBe('-');
    expect(canonical(null)).toBe('-');
  });

  it('textDiff caps long differences', () => {
    const many = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n');
    const out = textDiff(many, '', NAMES).split('\n');
    expect(out).toHaveLength(13);
    expect(out.at(-1)).toBe('… 9 more');
  });
});
