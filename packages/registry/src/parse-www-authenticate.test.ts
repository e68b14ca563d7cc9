import { parseWwwAuthenticate, redactSecrets, registryEndpoint } from './index.js';

describe('parseWwwAuthenticate', () => {
  it('reads a Bearer challenge with quoted, escaped and comma-holding values', () => {
    const [c] = parseWwwAuthenticate(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push",error="x \\"y\\""',
    );
    expect(c?.scheme).toBe('bearer');
    expect(c?.params.get('realm')).toEqual(['https://auth.example.com/token']);
    expect(c?.params.get('service')).toEqual(['registry.example.com']);
    expect(c?.params.get('scope')).toEqual(['repository:a/b:pull,push']);
    expect(c?.params.get('error')).toEqual(['x "y"']);
  });

  it('keeps repeated parameters and separates several challenges', () => {
    const cs = parseWwwAuthenticate('Bearer realm=r, scope="s1", scope="s2", Basic realm="kiln test"');
    expect(cs.map((c) => c.scheme)).toEqual(['bearer', 'basic']);
    expect(cs[0]?.params.get('scope')).toEqual(['s1', 's2']);
    expect(cs[1]?.params.get('realm')).toEqual(['kiln test']);
  });

  it('tolerates garbage', () => {
    expect(() => parseWwwAuthenticate('=,,"unterminated')).not.toThrow();
  });
});

describe('redactSecrets', () => {
  it('hides header values, userinfo, token-like query parameters and JSON secrets', () => {
    const text = redactSecrets(
      'Authorization: Bearer abc.def-ghi Basic dXNlcjpwYXNz https://u:p@h/x?X-Amz-Signature=123&ok=1&token=t {"token":"zzz"}',
    );
    expect(text).not.toMatch(/abc\.def|dXNlcjpwYXNz|u:p@|=123|=t\b|zzz/);
    expect(text).toContain('ok=1');
  });
});

describe('registryEndpoint', () => {
  it.each([
    ['localhost:5000', [], 'https://localhost:5000', true, true],
    ['127.0.0.1:5000', [], 'https://127.0.0.1:5000', true, true],
    ['[::1]:5000', [], 'https://[::1]:5000', true, true],
    ['localhost', [], 'https://localhost', true, true],
    ['registry.local:5000', [], 'https://registry.local:5000', false, true],
    ['registry.local:5000', ['registry.local:5000'], 'https://registry.local:5000', true, false],
    ['registry.local:5000', ['registry.local'], 'https://registry.local:5000', true, false],
    ['registry.local:5000', ['registry.local:6000'], 'https://registry.local:5000', false, true],
    ['localhost.evil.com', [], 'https://localhost.evil.com', false, true],
    ['127.0.0.2:5000', [], 'https://127.0.0.2:5000', false, true],
    ['docker.io', [], 'https://registry-1.docker.io', false, true],
  ])(
    '%s (insecure %j) → %s, plain HTTP allowed %s, certificates verified %s',
    (registry, insecure, url, plain, verify) => {
      expect(registryEndpoint(registry, insecure)).toEqual({
        registry,
        baseUrl: url,
        plainHttp: plain,
        verifyTls: verify,
      });
    },
  );
});
