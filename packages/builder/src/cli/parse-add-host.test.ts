import { parseAddHost } from './parse-add-host.js';

describe('parseAddHost', () => {
  it('takes HOST:IP and HOST=IP, IPv6 after the first colon or in brackets, and host-gateway', () => {
    expect(parseAddHost('db:10.0.0.5')).toEqual({ host: 'db', ip: '10.0.0.5' });
    expect(parseAddHost('db=10.0.0.5')).toEqual({ host: 'db', ip: '10.0.0.5' });
    expect(parseAddHost('v6:2001:db8::1')).toEqual({ host: 'v6', ip: '2001:db8::1' });
    expect(parseAddHost('v6=[2001:db8::1]')).toEqual({ host: 'v6', ip: '2001:db8::1' });
    expect(parseAddHost('host.docker.internal:host-gateway')).toEqual({
      host: 'host.docker.internal',
      ip: '127.0.0.1',
    });
  });

  it('refuses what would not be one hosts line', () => {
    for (const spec of [
      'db',
      ':10.0.0.5',
      'db:',
      'db:not-an-ip',
      'd b:10.0.0.5',
      'db:10.0.0.5 x',
      'a#b:1.2.3.4',
    ])
      expect(() => parseAddHost(spec)).toThrow(`invalid --add-host "${spec}"`);
  });
});
