import { parsePortSpecs } from './parse-port-specs.js';

describe('parsePortSpecs', () => {
  // Each case was checked against Docker 20.10's BuildKit (ExposedPorts of the built image).
  it.each([
    [['80'], ['80/tcp']],
    [['80-82'], ['80/tcp', '81/tcp', '82/tcp']],
    [['1000-1002/udp'], ['1000/udp', '1001/udp', '1002/udp']],
    [['1-3/sctp'], ['1/sctp', '2/sctp', '3/sctp']],
    [
      ['81/TCP', '80/UDP'],
      ['81/tcp', '80/udp'],
    ],
    [
      ['0', '65535'],
      ['0/tcp', '65535/tcp'],
    ],
    [['080'], ['80/tcp']],
    [['80/'], ['80/tcp']],
    [['80/udp/x'], ['80/udp']],
    [['80-81-82'], ['80/tcp', '81/tcp']],
    [['8080:80'], ['80/tcp']],
    [[':80'], ['80/tcp']],
    [['8080-8081:80'], ['80/tcp']],
    [['8080-8081:80-81'], ['80/tcp', '81/tcp']],
    [['1.2.3.4:8080:80'], ['80/tcp']],
    [['[::1]:8080:80'], ['80/tcp']],
    [
      ['80', '80/tcp', '80-81'],
      ['80/tcp', '81/tcp'],
    ],
    [[], []],
  ])('%j → %j', (specs, ports) => {
    expect(parsePortSpecs(specs)).toEqual({ ok: true, ports });
  });

  it.each([
    ['82-80', /invalid port "82-80"/],
    ['70000', /invalid port "70000"/],
    ['65536', /invalid port "65536"/],
    ['80-', /invalid port "80-"/],
    ['-80', /invalid port "-80"/],
    ['abc', /invalid port "abc"/],
    ['+80', /invalid port "\+80"/],
    ['80/foo', /invalid protocol "foo"/],
    ['/tcp', /no port in port spec "\/tcp"/],
    ['', /no port/],
    ['8080:', /no port/],
    ['x:80', /invalid host port "x"/],
    ['8080-8082:80-81', /differ in size/],
    ['bad:8080:80', /invalid IP address "bad"/],
    ['a:b:c:80', /invalid IP address "a:b"/],
    ['[::1:8080:80', /invalid IP address/],
  ])('rejects %j', (spec, reason) => {
    const r = parsePortSpecs(['80', spec]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});
