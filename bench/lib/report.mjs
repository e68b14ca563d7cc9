// The results of a benchmark run as tables and a chart: pure functions of the samples, plus
// writeResults, which puts them in the results directory.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** How the tools are named in the chart's legend. */
export const labels = { kiln: 'kiln', buildkit: 'BuildKit (docker.io)', buildah: 'Buildah' };

/** The median of numbers; null for none. */
export function median(xs) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * One row per case and scenario (plus biglayer's cold+push): each tool's median seconds, status,
 * median peak RSS and CPU; for each peer the median over runs of kiln's time / the peer's in the
 * same run (ratio inside each run first, so a slow moment of the machine hits both sides).
 */
export function summarize(samples, opts) {
  const want = (s) => opts.scenarios.includes(s);
  const rows = [];
  const scen = [...opts.scenarios];
  if (opts.cases.includes('biglayer') && want('cold') && want('push')) scen.push('cold+push');
  for (const c of opts.cases) {
    for (const sc of scen) {
      const pick = (t, s) => samples.filter((x) => x.case === c && x.tool === t && x.scenario === s);
      const secsOf = (t, run) => {
        if (sc === 'cold+push') {
          const a = pick(t, 'cold').find((x) => x.run === run && x.status === 'ok');
          const b = pick(t, 'push').find((x) => x.run === run && x.status === 'ok');
          return a && b ? a.secs + b.secs : null;
        }
        const x = pick(t, sc).find((x) => x.run === run && x.status === 'ok');
        return x ? x.secs : null;
      };
      if (sc === 'cold+push' && c !== 'biglayer') continue;
      const cpuOf2 = (t, run) => {
        const one = (s) => pick(t, s).find((x) => x.run === run && x.status === 'ok')?.cpuSecs ?? null;
        if (sc !== 'cold+push') return one(sc);
        const a = one('cold');
        const b = one('push');
        return a !== null && b !== null ? a + b : null;
      };
      const row = {
        case: c,
        scenario: sc,
        median: {},
        status: {},
        rssMiB: {},
        ratio: {},
        cpu: {},
        cpuRatio: {},
      };
      const runsSeen = [...new Set(samples.filter((x) => x.case === c).map((x) => x.run))];
      for (const t of opts.tools) {
        const vals = runsSeen.map((r) => secsOf(t, r)).filter((v) => v !== null);
        row.median[t] = vals.length ? +median(vals).toFixed(3) : null;
        const bad = sc === 'cold+push' ? [] : pick(t, sc).filter((x) => x.status !== 'ok');
        row.status[t] = vals.length ? 'ok' : bad[0]?.status || 'n/a';
        if (!vals.length && bad[0])
          row.error = { ...(row.error || {}), [t]: String(bad[0].error).split('\n').slice(-3).join(' ') };
        const rss =
          sc === 'cold+push'
            ? []
            : pick(t, sc)
                .filter((x) => x.status === 'ok' && x.rssKiB)
                .map((x) => x.rssKiB);
        row.rssMiB[t] = rss.length ? Math.round(median(rss) / 1024) : null;
        const cpu = runsSeen.map((r) => cpuOf2(t, r)).filter((v) => v !== null);
        row.cpu[t] = cpu.length ? +median(cpu).toFixed(2) : null;
      }
      for (const peer of opts.tools.filter((t) => t !== 'kiln')) {
        if (!opts.tools.includes('kiln')) break;
        // Ratio inside each run first, then the median of those ratios.
        const rs = runsSeen
          .map((r) => [secsOf('kiln', r), secsOf(peer, r)])
          .filter(([a, b]) => a !== null && b)
          .map(([a, b]) => a / b);
        row.ratio[peer] = rs.length ? +median(rs).toFixed(2) : null;
        const cr = runsSeen
          .map((r) => [cpuOf2('kiln', r), cpuOf2(peer, r)])
          .filter(([a, b]) => a !== null && b)
          .map(([a, b]) => a / b);
        row.cpuRatio[peer] = cr.length ? +median(cr).toFixed(2) : null;
      }
      rows.push(row);
    }
  }
  return rows;
}

function fmtS(v) {
  return v === null || v === undefined ? '' : v < 10 ? v.toFixed(2) : v.toFixed(1);
}
/** The results table, one line per row of summarize(). */
export function markdown(rows, opts) {
  const peers = opts.tools.filter((t) => t !== 'kiln');
  const head = [
    'case',
    'scenario',
    ...opts.tools.map((t) => `${t} s`),
    ...peers.map((p) => `kiln/${p}`),
    ...peers.map((p) => `CPU kiln/${p}`),
    ...opts.tools.map((t) => `${t} RSS MiB`),
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    const cell = (t) => (r.status[t] === 'ok' ? fmtS(r.median[t]) : r.status[t]);
    const ratio = (p) =>
      r.ratio[p] === null || r.ratio[p] === undefined ? '–' : `**${r.ratio[p].toFixed(2)}×**`;
    const cpuRatio = (p) => (r.cpuRatio?.[p] ? `${r.cpuRatio[p].toFixed(2)}×` : '–');
    lines.push(
      `| ${[r.case, r.scenario, ...opts.tools.map(cell), ...peers.map(ratio), ...peers.map(cpuRatio), ...opts.tools.map((t) => r.rssMiB[t] ?? '')].join(' | ')} |`,
    );
  }
  return lines.join('\n') + '\n';
}

/** The ratio chart: a bar per row and peer on a log2 axis around 1×. */
export function svg(rows, opts) {
  const peers = opts.tools.filter((t) => t !== 'kiln');
  const items = rows.filter((r) => peers.some((p) => r.ratio[p]));
  const colors = { buildkit: '#2f6db5', buildah: '#d9822b' };
  const barH = 9,
    gap = 6,
    left = 170,
    width = 460,
    top = 40;
  const groupH = peers.length * barH + gap;
  const height = top + items.length * groupH + 50;
  // log2 axis from 1/8x to 8x: 1.0 in the middle, "kiln faster" to the left.
  const lo = -3,
    hi = 3;
  const x = (v) => left + ((Math.log2(Math.min(Math.max(v, 2 ** lo), 2 ** hi)) - lo) / (hi - lo)) * width;
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 90}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="16" font-size="13" font-weight="bold">kiln time / peer time (median of per-run ratios; log scale; left of 1× = kiln faster)</text>`,
  ];
  for (let e = lo; e <= hi; e++) {
    const xx = x(2 ** e);
    out.push(
      `<line x1="${xx}" y1="${top - 8}" x2="${xx}" y2="${height - 40}" stroke="${e === 0 ? '#000' : '#ddd'}" stroke-width="${e === 0 ? 1.5 : 1}"/>`,
    );
    out.push(
      `<text x="${xx}" y="${height - 26}" text-anchor="middle">${e < 0 ? `1/${2 ** -e}` : 2 ** e}×</text>`,
    );
  }
  items.forEach((r, i) => {
    const y0 = top + i * groupH;
    out.push(
      `<text x="${left - 6}" y="${y0 + (peers.length * barH) / 2 + 4}" text-anchor="end">${esc(`${r.case} · ${r.scenario}`)}</text>`,
    );
    peers.forEach((p, j) => {
      const v = r.ratio[p];
      if (!v) return;
      const y = y0 + j * barH;
      const x1 = x(1),
        x2 = x(v);
      out.push(
        `<rect x="${Math.min(x1, x2)}" y="${y}" width="${Math.max(1, Math.abs(x2 - x1))}" height="${barH - 1}" fill="${colors[p] || '#888'}"/>`,
      );
      out.push(`<text x="${Math.max(x1, x2) + 3}" y="${y + barH - 1}" font-size="9">${v.toFixed(2)}</text>`);
    });
  });
  let lx = left;
  for (const p of peers) {
    out.push(
      `<rect x="${lx}" y="${height - 16}" width="10" height="10" fill="${colors[p] || '#888'}"/><text x="${lx + 14}" y="${height - 7}">kiln / ${esc(labels[p])}</text>`,
    );
    lx += 200;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** "hello 11, multistage 11, bigcontext 3, …": the runs each case has samples of. */
export function runsPerCase(samples, cases) {
  return cases
    .map((c) => `${c} ${new Set(samples.filter((x) => x.case === c).map((x) => x.run)).size}`)
    .join(', ');
}

/** The paragraph above the table: what every number in it is. */
export function method(samples, opts) {
  return `Medians in seconds over the runs of each case (${runsPerCase(samples, opts.cases)}); ratio = median over runs of (kiln time / peer time in the same run); CPU ratio = the same with user+system CPU seconds (BuildKit: client + dockerd and its children); RSS = median peak RSS in MiB (BuildKit: VmHWM of dockerd and its children + docker client).\n\n`;
}

/**
 * Writes results.json (the whole document: samples, options, machine, versions, summary),
 * results.md and ratios.svg into `out`, and returns the markdown. `doc.samples` and
 * `doc.options` are what the rest is computed from.
 */
export function writeResults(out, doc, { prettier } = {}) {
  fs.mkdirSync(out, { recursive: true });
  const rows = summarize(doc.samples, doc.options);
  const whole = { ...doc, summary: rows };
  const order = ['started', 'finished', 'machine', 'versions', 'options', 'summary', 'samples'];
  const json = Object.fromEntries(order.map((k) => [k, whole[k]]));
  fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify(json, null, 2) + '\n');
  // Keep the repository's `prettier --check` green when the results are committed.
  if (prettier && fs.existsSync(prettier)) spawnSync(prettier, ['--write', path.join(out, 'results.json')]);
  const md = method(doc.samples, doc.options) + markdown(rows, doc.options);
  fs.writeFileSync(path.join(out, 'results.md'), md);
  fs.writeFileSync(path.join(out, 'ratios.svg'), svg(rows, doc.options));
  return md;
}
