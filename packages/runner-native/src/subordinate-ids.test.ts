import { subordinateIds } from './subordinate-ids.js';

const file = [
  'alice:100000:65536',
  '# a comment',
  '',
  'bob:165536:65536',
  '1001:231072:1000',
  'alice:300000:10',
  'carol:1:2:3',
  'dave:x:10',
  'erin:5:0',
].join('\n');

it('collects every range of a user, by name or by uid, in file order', () => {
  expect(subordinateIds(file, 'alice', 1000)).toEqual([
    { start: 100000, count: 65536 },
    { start: 300000, count: 10 },
  ]);
  expect(subordinateIds(file, 'frank', 1001)).toEqual([{ start: 231072, count: 1000 }]);
});

it('skips comments and malformed lines, and finds nothing for an unknown user', () => {
  expect(subordinateIds(file, 'carol', 5)).toEqual([]);
  expect(subordinateIds(file, 'dave', 6)).toEqual([]);
  expect(subordinateIds(file, 'erin', 7)).toEqual([]);
  expect(subordinateIds(file, 'nobody-here', 4242)).toEqual([]);
  expect(subordinateIds('', 'alice', 1000)).toEqual([]);
});
