import {
  goDuration,
  goHealthcheck,
  goList,
  goPortMap,
  goQuote,
  goQuoteList,
  runHistoryText,
} from './history-text.js';

// Expected texts are BuildKit's (Docker 20.10's, read from its images' history by qa/run) or
// Go's own output for the same values.
describe('history texts as BuildKit writes them', () => {
  it('quotes string lists as Go %q does (CMD, ENTRYPOINT)', () => {
    expect(goQuoteList(['/bin/sh', '-c', 'echo $HOME'])).toBe('["/bin/sh" "-c" "echo $HOME"]');
    expect(goQuoteList(['/bin/sh', '-c', '[ "bad json'])).toBe('["/bin/sh" "-c" "[ \\"bad json"]');
    expect(goQuoteList(['/bin/sh', '-c', "['single', 'quotes']"])).toBe(
      '["/bin/sh" "-c" "[\'single\', \'quotes\']"]',
    );
  });

  it("escapes as strconv.Quote: named escapes, \\x for control bytes, \\u for Unicode's non-printables", () => {
    expect(goQuote('a\tb\nc\\d\x07\x01\x7f')).toBe('"a\\tb\\nc\\\\d\\a\\x01\\x7f"');
    expect(goQuote('café ✓ \u00a0\u200b')).toBe('"café ✓ \\u00a0\\u200b"');
  });

  it('prints SHELL and VOLUME lists and EXPOSE maps as Go %v does', () => {
    expect(goList(['/bin/sh', '-ec'])).toBe('[/bin/sh -ec]');
    expect(goList(['/data', '[/logs]'])).toBe('[/data [/logs]]');
    expect(goPortMap(['80/tcp', '443/udp', '8000/tcp', '8001/tcp', '9000/tcp', '80/tcp'])).toBe(
      'map[443/udp:{} 80/tcp:{} 8000/tcp:{} 8001/tcp:{} 9000/tcp:{}]',
    );
  });

  it("prints durations as Go's time.Duration", () => {
    const cases: Array<[number, string]> = [
      [0, '0s'],
      [5e9, '5s'],
      [1.5e9, '1.5s'],
      [90e9, '1m30s'],
      [3600e9, '1h0m0s'],
      [3723.25e9, '1h2m3.25s'],
      [250e6, '250ms'],
      [1500, '1.5µs'],
      [7, '7ns'],
    ];
    for (const [ns, text] of cases) expect(goDuration(ns)).toBe(text);
  });

  it('prints a HEALTHCHECK as %q of the struct (retries as a rune)', () => {
    const health = {
      Test: ['CMD-SHELL', 'wget -q -O- http://localhost/ || exit 1'],
      Interval: 5e9,
      Timeout: 3e9,
      Retries: 2,
    };
    expect(goHealthcheck(health)).toBe(
      '&{["CMD-SHELL" "wget -q -O- http://localhost/ || exit 1"] "5s" "3s" "0s" "0s" \'\\x02\'}',
    );
    expect(goHealthcheck({ Test: ['NONE'] })).toBe('&{["NONE"] "0s" "0s" "0s" "0s" \'\\x00\'}');
    expect(goHealthcheck({ Test: ['CMD', 'true'], Retries: 10 })).toContain("'\\n'}");
    expect(goHealthcheck({ Test: ['CMD', 'true'], Retries: 39 })).toContain("'\\''}");
    expect(goHealthcheck({ Test: ['CMD', 'true'], Retries: 65 })).toContain("'A'}");
  });

  it("prefixes a RUN with the stage's declared ARGs and their values", () => {
    const cmd = ['/bin/sh', '-c', 'echo "$A"'];
    expect(runHistoryText(cmd, [])).toBe('RUN /bin/sh -c echo "$A"');
    expect(
      runHistoryText(cmd, [
        ['A', ''],
        ['B', 'bee'],
      ]),
    ).toBe('RUN |2 A= B=bee /bin/sh -c echo "$A"');
  });
});
