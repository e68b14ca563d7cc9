// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by package/file.
// usage: node bench/profile-summary.mjs FILE.cpuprofile [TOP]
import fs from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile-summary.mjs FILE.cpuprofile [TOP]');
  process.exit(2);
}
const top = Number(topArg) || 25;
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map(); // node id -> microseconds
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0;
  self.set(prof.samples[i], (self.get(prof.samples[i]) || 0) + dt);
}
const total = [...self.values()].reduce((a, b) => a + b, 0);

function where(url) {
  if (!url) return '(native/vm)';
  const m = url.match(/packages\/([^/]+)\//) || url.match(/node_modules\/(?:\.pnpm\/)?((?:@[^/]+\/)?[^/@]+)/);
  if (m) return m[1];
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  return url.split('/').slice(-1)[0];
}
const byFn = new Map();
const byPkg = new Map();
for (const [id, us] of self) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const fn = `${cf.functionName || '(anonymous)'} ${cf.url ? cf.url.replace(/^.*\/(packages|node_modules)\//, '$1/') : ''}:${cf.lineNumber + 1}`;
  byFn.set(fn, (byFn.get(fn) || 0) + us);
  const pkg =
    cf.functionName === '(garbage collector)'
      ? '(gc)'
      : cf.functionName === '(idle)'
        ? '(idle)'
        : where(cf.url);
  byPkg.set(pkg, (byPkg.get(pkg) || 0) + us);
}
const show = (title, m) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(
      `${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`,
    );
};
console.log(`total sampled: ${(total / 1000).toFixed(0)} ms`);
show('self time by package/file', byPkg);
show('self time by function', byFn);
