// What differs between two builds of one Dockerfile: their configs, their file systems, their
// outcomes, each difference under a key that a case's list of known differences can name. Pure:
// no files, no processes (qa/lib/image-view.mjs reads images into the shapes compared here).

/** Config fields compared, as the image config's `config` object names them. */
export const CONFIG_FIELDS = [
  'User',
  'Env',
  'Entrypoint',
  'Cmd',
  'WorkingDir',
  'ExposedPorts',
  'Volumes',
  'Labels',
  'StopSignal',
  'Healthcheck',
  'Shell',
  'OnBuild',
];

/** Attributes of a file compared, in the order a difference lists them. */
const FILE_FIELDS = ['type', 'mode', 'uid', 'gid', 'size', 'sha256', 'link', 'hardlink', 'mtime', 'xattrs'];

/**
 * The differences between `a` and `b`, the views of one case's image made by two tools (named by
 * `names`: [a's, b's]). A view is `{ config, history, layers, files }`: `config` the image
 * config's `config` object, `history` its history entries, `layers` the number of layers, `files`
 * a Map from absolute path to the file's attributes (see FILE_FIELDS; `text` for small text
 * files). Returns a sorted array of `{ key, detail }`; keys: `config.<Field>`, `history` (what
 * `docker history` shows: each entry's `created_by` and whether it is an empty layer; times and
 * comments aside), `layers`, `fs:<path>:<attribute>` (`dir-mtime` for a directory's time),
 * `fs:<path>:only-<name>` (below a directory only one side has, only the directory is listed).
 */
export function diffImages(a, b, names) {
  const out = [];
  for (const field of CONFIG_FIELDS) {
    const va = canonical(a.config?.[field]);
    const vb = canonical(b.config?.[field]);
    if (va !== vb) out.push({ key: `config.${field}`, detail: `${names[0]}: ${va}\n${names[1]}: ${vb}` });
  }
  const history = diffHistory(a.history, b.history, names);
  if (history !== undefined) out.push({ key: 'history', detail: history });
  if (a.layers !== b.layers)
    out.push({ key: 'layers', detail: `${names[0]}: ${a.layers}, ${names[1]}: ${b.layers}` });
  out.push(...diffFiles(a.files, b.files, names));
  return out.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

function diffFiles(fa, fb, names) {
  const out = [];
  const paths = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  /** Directories only one side has: what lies below them is not listed again. */
  const onlyDirs = [];
  for (const p of paths) {
    if (onlyDirs.some((d) => p.startsWith(d + '/'))) continue;
    const x = fa.get(p);
    const y = fb.get(p);
    if (x === undefined || y === undefined) {
      const [has, entry] = x === undefined ? [names[1], y] : [names[0], x];
      if (entry.type === 'dir') onlyDirs.push(p === '/' ? '' : p);
      out.push({ key: `fs:${p}:only-${has}`, detail: `${entry.type} only in ${has}` });
      continue;
    }
    for (const field of FILE_FIELDS) {
      const va = canonical(x[field]);
      const vb = canonical(y[field]);
      if (va === vb) continue;
      let detail = `${names[0]}: ${va}, ${names[1]}: ${vb}`;
      if (field === 'sha256' && x.text !== undefined && y.text !== undefined)
        detail = textDiff(x.text, y.text, names);
      // Directories' times are a class of their own (see GLOBAL_KNOWN in qa/cases.mjs).
      const name = field === 'mtime' && x.type === 'dir' && y.type === 'dir' ? 'dir-mtime' : field;
      out.push({ key: `fs:${p}:${name}`, detail });
    }
  }
  return out;
}

/** The entries of two histories that differ, position by position; undefined when none does. */
export function diffHistory(ha = [], hb = [], names) {
  const line = (h) =>
    h === undefined ? '(none)' : `${h.created_by ?? ''}${h.empty_layer ? ' [empty]' : ''}`;
  const lines = [];
  for (let i = 0; i < Math.max(ha.length, hb.length); i++) {
    const [la, lb] = [line(ha[i]), line(hb[i])];
    if (la !== lb) lines.push(`#${i} - ${names[0]}: ${la}`, `#${i} + ${names[1]}: ${lb}`);
  }
  return lines.length === 0 ? undefined : clipLines(lines);
}

/** The lines of two small texts that differ, as `- a` / `+ b` pairs (at most 12 lines). */
export function textDiff(ta, tb, names) {
  const la = ta.split('\n');
  const lb = tb.split('\n');
  const setB = new Set(lb);
  const setA = new Set(la);
  const lines = [
    ...la.filter((l) => !setB.has(l)).map((l) => `- ${names[0]}: ${l}`),
    ...lb.filter((l) => !setA.has(l)).map((l) => `+ ${names[1]}: ${l}`),
  ];
  return lines.length === 0 ? 'same lines, different order or repetition' : clipLines(lines);
}

/** At most 12 lines of a difference's detail, and how many more there were. */
function clipLines(lines) {
  return lines.length > 12
    ? [...lines.slice(0, 12), `… ${lines.length - 12} more`].join('\n')
    : lines.join('\n');
}

/** JSON with object keys sorted (configs from two tools order maps differently); "-" for absent. */
export function canonical(v) {
  if (v === undefined || v === null) return '-';
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  }
  return v;
}

/**
 * Splits `diffs` by a case's known differences: `known` maps a key pattern (`*` matches any run
 * of characters) to the reason it is accepted. Returns `{ unexpected, accepted, stale }`:
 * differences no pattern names, those some pattern names (with its reason), and patterns that
 * named nothing this time (fixed, or the case changed: the list should say so). `everywhere`:
 * patterns accepted in every case, never stale.
 */
export function classify(diffs, known = {}, everywhere = {}) {
  const patterns = [
    ...Object.entries(known).map(([pattern, reason]) => ({
      pattern,
      reason,
      re: globRe(pattern),
      global: false,
    })),
    ...Object.entries(everywhere).map(([pattern, reason]) => ({
      pattern,
      reason,
      re: globRe(pattern),
      global: true,
    })),
  ];
  const unexpected = [];
  const accepted = [];
  for (const d of diffs) {
    const hit = patterns.find((p) => p.re.test(d.key));
    if (hit === undefined) unexpected.push(d);
    else {
      hit.used = true;
      accepted.push({ ...d, reason: hit.reason });
    }
  }
  const stale = patterns
    .filter((p) => !p.used && !p.global)
    .map(({ pattern, reason }) => ({ pattern, reason }));
  return { unexpected, accepted, stale };
}

function globRe(pattern) {
  return new RegExp(`^${pattern.split('*').map(escapeRe).join('.*')}$`);
}

function escapeRe(s) {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The verdict on a case from the two builds' outcomes (`{ ok, output }` each) and, when both
 * built, the differences of their images: `{ status, unexpected, accepted, stale }` where status
 * is 'same', 'known' (only accepted differences; `everywhere` as in classify), 'differs',
 * 'both-failed' (as the case expects, when `expectFailure`) or 'outcome' (one tool built, the
 * other failed, or both failed unexpectedly).
 *
 * @param {{
 *   outcomes: Array<{ ok: boolean, output: string }>,
 *   names: string[],
 *   diffs?: Array<{ key: string, detail: string }>,
 *   known?: Record<string, string>,
 *   everywhere?: Record<string, string>,
 *   expectFailure?: boolean,
 * }} args
 */
export function judge({ outcomes, names, diffs = [], known = {}, everywhere = {}, expectFailure = false }) {
  const [oa, ob] = outcomes;
  if (!oa.ok || !ob.ok) {
    const bothFailed = !oa.ok && !ob.ok;
    const unexpected =
      bothFailed && expectFailure
        ? []
        : [
            {
              key: 'outcome',
              detail: names
                .map(
                  (n, i) => `${n}: ${outcomes[i].ok ? 'built' : `failed: ${lastLines(outcomes[i].output)}`}`,
                )
                .join('\n'),
            },
          ];
    return { status: unexpected.length ? 'outcome' : 'both-failed', unexpected, accepted: [], stale: [] };
  }
  if (expectFailure) {
    return {
      status: 'outcome',
      unexpected: [{ key: 'outcome', detail: 'both built, but the case expects both to fail' }],
      accepted: [],
      stale: [],
    };
  }
  const { unexpected, accepted, stale } = classify(diffs, known, everywhere);
  const status =
    unexpected.length > 0 || stale.length > 0 ? 'differs' : accepted.length > 0 ? 'known' : 'same';
  return { status, unexpected, accepted, stale };
}

function lastLines(text, n = 3) {
  return String(text ?? '')
    .trim()
    .split('\n')
    .slice(-n)
    .join(' | ');
}
