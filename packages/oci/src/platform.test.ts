import { formatPlatform, hostPlatform, parsePlatform } from './platform.js';

describe('parsePlatform', () => {
  it('normalizes specifiers as containerd does', () => {
    const cases: Array<[string, string]> = [
      ['linux/amd64', 'linux/amd64'],
      ['Linux/x86_64', 'linux/amd64'],
      ['linux/amd64/v1', 'linux/amd64'],
      ['linux/amd64/v2', 'linux/amd64/v2'],
      ['linux/aarch64', 'linux/arm64'],
      ['linux/arm64/v8', 'linux/arm64'],
      ['linux/arm64/8', 'linux/arm64'],
      ['linux/arm', 'linux/arm/v7'],
      ['linux/armhf', 'linux/arm/v7'],
      ['linux/armel', 'linux/arm/v6'],
      ['linux/arm/v6', 'linux/arm/v6'],
      ['linux/i686', 'linux/386'],
      ['windows/amd64', 'windows/amd64'],
    ];
    for (const [spec, want] of cases)
      expect([spec, formatPlatform(parsePlatform(spec) ?? hostPlatform())]).toEqual([spec, want]);
  });

  it("takes an architecture alone for the host's OS, and the host's OS alone for its architecture", () => {
    expect(parsePlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux')).toEqual(parsePlatform(formatPlatform(hostPlatform())));
  });

  it('refuses what is not a platform', () => {
    for (const spec of [
      '',
      'linux/',
      'not/a/plat/form',
      'linux/sparc99',
      'plan9x/amd64',
      'linux/amd 64',
      'windows',
    ])
      expect([spec, parsePlatform(spec)]).toEqual([spec, undefined]);
  });
});
