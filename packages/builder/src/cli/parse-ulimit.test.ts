import { parseUlimits } from './parse-ulimit.js';

describe('parseUlimits', () => {
  it('takes NAME=SOFT[:HARD], -1 or unlimited, and lets a later one win', () => {
    expect(
      parseUlimits(['nofile=1024:4096', 'core=0', 'stack=-1', 'nproc=100', 'nproc=200:unlimited']),
    ).toEqual({
      nofile: { soft: 1024, hard: 4096 },
      core: { soft: 0, hard: 0 },
      stack: { soft: Number.POSITIVE_INFINITY, hard: Number.POSITIVE_INFINITY },
      nproc: { soft: 200, hard: Number.POSITIVE_INFINITY },
    });
  });

  it('refuses unknown names, bad counts and a soft limit above the hard one', () => {
    for (const spec of [
      'nofile',
      'files=1',
      'nofile=x',
      'nofile=2:1',
      'nofile=1:2:3',
      'nofile=-2',
      'NOFILE=1',
    ])
      expect(() => parseUlimits([spec])).toThrow(`invalid --ulimit "${spec}"`);
  });
});
