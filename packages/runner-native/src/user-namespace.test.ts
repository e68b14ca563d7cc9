import { mapsId, parseIdMap, userNamespace } from './user-namespace.js';

it('parses /proc/PID/uid_map text', () => {
  const text = '         0       1001          1\n         1     100000      65536\n';
  expect(parseIdMap(text)).toEqual([
    { inside: 0, outside: 1001, count: 1 },
    { inside: 1, outside: 100000, count: 65536 },
  ]);
  expect(parseIdMap('garbage\n1 2\n')).toEqual([]);
});

it('tells which ids a map covers', () => {
  const map = parseIdMap('0 1001 1\n1 100000 65536\n');
  expect(mapsId(map, 0)).toBe(true);
  expect(mapsId(map, 65536)).toBe(true);
  expect(mapsId(map, 65537)).toBe(false);
  expect(mapsId(parseIdMap('0 1001 1'), 1)).toBe(false);
});

it('knows whether this process is in the initial user namespace', () => {
  // The test suite runs as real root (see the README); rootless runs are covered end to end.
  const ns = userNamespace();
  expect(ns.initial).toBe(process.getuid?.() === 0);
  expect(ns.uids.length).toBeGreaterThan(0);
});
