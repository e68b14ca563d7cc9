import { formatReference, parseReference, RegistryError } from './index.js';

describe('parseReference', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['user/app:1.0', 'docker.io/user/app:1.0'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['127.0.0.1:5000/a/b:tag', '127.0.0.1:5000/a/b:tag'],
    ['ghcr.io/org/img@sha256:' + 'a'.repeat(64), 'ghcr.io/org/img@sha256:' + 'a'.repeat(64)],
  ])('%s → %s', (input, expected) => {
    expect(formatReference(parseReference(input))).toBe(expected);
  });

  it.each(['UPPER', 'a//b', 'img@sha256:short', 'img:bad!tag', ''])('rejects %j', (input) => {
    expect(() => parseReference(input)).toThrow(RegistryError);
  });
});
