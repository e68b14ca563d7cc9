import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildUnpacked,
  buildUnpackedOk,
  run,
  storeWithBusybox,
  tempDir,
  writeContext,
} from './support/kiln.js';

const tmp = tempDir('kiln-sem-');
const root = join(tmp.path, 'store');

beforeAll(() => storeWithBusybox(root));
afterAll(() => tmp.cleanup());

const context = (name: string, dockerfile: string, files: Record<string, string> = {}): string =>
  writeContext(tmp.path, name, dockerfile, files);

function build(
  ctx: string,
  tag: string,
  extra: string[] = [],
): { rootfs: string; config: Record<string, unknown>; history: string; stderr: string } {
  const r = buildUnpackedOk(root, tmp.path, ctx, { tag, args: extra });
  // --raw: skopeo's parsed config drops Docker's Healthcheck and OnBuild fields.
  const full = JSON.parse(run('skopeo', ['inspect', '--raw', '--config', `oci:${r.layout}:${r.ref}`])) as {
    config: Record<string, unknown>;
    history: unknown[];
  };
  return { rootfs: r.rootfs, config: full.config, history: JSON.stringify(full.history), stderr: r.stderr };
}

describe('Dockerfile semantics', () => {
  it('records HEALTHCHECK as Docker does, and NONE', () => {
    const a = build(
      context(
        'hc',
        'FROM busybox\nHEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD wget -q -O- localhost || exit 1\n',
      ),
      'hc:1',
    );
    expect(a.config.Healthcheck).toEqual({
      Test: ['CMD-SHELL', 'wget -q -O- localhost || exit 1'],
      Interval: 5e9,
      Timeout: 2e9,
      Retries: 4,
    });
    const b = build(context('hc2', 'FROM hc:1\nHEALTHCHECK NONE\n'), 'hc:2');
    expect(b.config.Healthcheck).toEqual({ Test: ['NONE'] });
  });

  it('runs ONBUILD triggers of a base image and of an earlier stage, once', () => {
    const base = build(
      context('ob-base', 'FROM busybox\nONBUILD RUN echo triggered > /t\nONBUILD ENV FROM_TRIGGER=yes\n'),
      'obbase:1',
    );
    expect(base.config.OnBuild).toEqual(['RUN echo triggered > /t', 'ENV FROM_TRIGGER=yes']);
    expect(existsSync(join(base.rootfs, 't'))).toBe(false);
    const child = build(context('ob-child', 'FROM obbase:1\nRUN cat /t > /seen\n'), 'obchild:1');
    expect(readFileSync(join(child.rootfs, 'seen'), 'utf8')).toBe('triggered\n');
    expect(child.config.Env).toContain('FROM_TRIGGER=yes');
    expect(child.config.OnBuild ?? null).toBeNull();
    expect(child.stderr).toContain('[ONBUILD] RUN echo triggered > /t');
    const staged = build(
      context(
        'ob-stage',
        'FROM busybox AS lib\nONBUILD RUN echo from-stage > /s\nFROM lib\nRUN cat /s > /seen\n',
      ),
      'obstage:1',
    );
    expect(readFileSync(join(staged.rootfs, 'seen'), 'utf8')).toBe('from-stage\n');
  });

  it('reports a failing ONBUILD trigger at the FROM line that ran it', () => {
    build(context('obfail-base', 'FROM busybox\nONBUILD RUN exit 3\n'), 'obfail:1');
    build(context('obfail-base2', 'FROM busybox\nONBUILD ENV A=${NOPE:?unset}\n'), 'obfail:2');
    const child = (name: string, base: string): string =>
      context(name, `# c\nARG X=1\n\nFROM busybox AS a\nRUN true\n\nFROM ${base}\nLABEL x=1\n`);
    const failedRun = buildUnpacked(root, tmp.path, child('obfail-run', 'obfail:1'));
    expect(failedRun.status).not.toBe(0);
    expect(failedRun.stderr).toContain(
      'Dockerfile:7:1: ONBUILD trigger "RUN exit 3" failed: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3',
    );
    expect(failedRun.stderr).toContain('> 7 | FROM obfail:1');
    const env = buildUnpacked(root, tmp.path, child('obfail-env', 'obfail:2'));
    expect(env.status).not.toBe(0);
    expect(env.stderr).toContain(
      'Dockerfile:7:1: ONBUILD trigger "ENV A=${NOPE:?unset}" failed: NOPE: unset',
    );
  });

  it('predefines the platform ARGs for FROM and for declared stage ARGs', () => {
    const ctx = context(
      'platform',
      'ARG IMG=busy\nFROM ${IMG}box AS b\nARG TARGETARCH\nARG TARGETPLATFORM\nRUN echo "$TARGETPLATFORM $TARGETARCH" > /p\n',
    );
    const { rootfs } = build(ctx, 'platform:1');
    const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as 'x64' | 'arm64'] ?? process.arch;
    expect(readFileSync(join(rootfs, 'p'), 'utf8')).toBe(`linux/${arch} ${arch}\n`);
  });

  it("writes history as BuildKit does: ARG entries, RUN's |N ARG prefix, Go-quoted CMD, no ONBUILD or --from", () => {
    const dockerfile = [
      'FROM busybox AS src',
      'RUN echo s > /s',
      'FROM busybox',
      'ARG A',
      'ARG B=def',
      'ENV B=env-wins',
      'RUN echo "$A $B" > /ab',
      'COPY --from=src --chmod=600 /s /s',
      'ONBUILD RUN true',
      'EXPOSE 80 443/udp',
      'SHELL ["/bin/sh", "-ec"]',
      'CMD echo "hi"',
      '',
    ].join('\n');
    const r = build(context('hist', dockerfile), 'hist:1', ['--build-arg', 'A=cli']);
    const own = (JSON.parse(r.history) as { created_by: string; empty_layer?: boolean }[]).slice(-8);
    expect(own.map((h) => [h.created_by, h.empty_layer ?? false])).toEqual([
      ['ARG A=cli', true],
      ['ARG B=def', true],
      ['ENV B=env-wins', true],
      ['RUN |2 A=cli B=env-wins /bin/sh -c echo "$A $B" > /ab # buildkit', false],
      ['COPY --chmod=600 /s /s # buildkit', false],
      ['EXPOSE map[443/udp:{} 80/tcp:{}]', true],
      ['SHELL [/bin/sh -ec]', true],
      ['CMD ["/bin/sh" "-ec" "echo \\"hi\\""]', true],
    ]);
  });

  it('gives proxy build args to RUN without putting them in history or the cache key', () => {
    const ctx = context('proxy', 'FROM busybox\nRUN echo "proxy=$HTTP_PROXY" > /p\n');
    const a = build(ctx, 'proxy:1', ['--build-arg', 'HTTP_PROXY=http://127.0.0.1:3128']);
    expect(readFileSync(join(a.rootfs, 'p'), 'utf8')).toBe('proxy=http://127.0.0.1:3128\n');
    expect(a.history).not.toContain('3128');
    const b = build(ctx, 'proxy:2', ['--build-arg', 'HTTP_PROXY=http://127.0.0.1:9999']);
    expect(b.stderr).toContain('CACHED');
  });

  it('lets a later ENTRYPOINT clear an inherited CMD but not one set in the same stage', () => {
    build(context('ep-base', 'FROM busybox\nCMD ["base-cmd"]\n'), 'epbase:1');
    const cleared = build(context('ep1', 'FROM epbase:1\nENTRYPOINT ["/bin/echo"]\n'), 'ep:1');
    expect(cleared.config.Cmd ?? null).toBeNull();
    const kept = build(context('ep2', 'FROM epbase:1\nCMD ["mine"]\nENTRYPOINT ["/bin/echo"]\n'), 'ep:2');
    expect(kept.config.Cmd).toEqual(['mine']);
  });
  it('gives a stage built FROM an earlier stage the ARGs of that stage, as BuildKit does', () => {
    const ctx = context(
      'arg-inherit',
      [
        'ARG G=glob',
        'FROM busybox AS parent',
        'ARG FOO=123',
        'ARG G',
        'FROM parent AS child',
        'ENV C=[$FOO]',
        'RUN echo "FOO=[$FOO] G=[$G]" > /child.txt',
        'FROM busybox AS other',
        'RUN echo "FOO=[$FOO] G=[$G]" > /other.txt',
        'FROM child',
        'COPY --from=other /other.txt /',
        '',
      ].join('\n'),
    );
    const r = build(ctx, 'arginherit:1');
    expect(r.config.Env).toContain('C=[123]');
    expect(readFileSync(join(r.rootfs, 'child.txt'), 'utf8')).toBe('FOO=[123] G=[glob]\n');
    // ARG values reach RUN, not the image; a stage on an image does not see another stage's ARGs.
    expect((r.config.Env as string[]).some((e) => e.startsWith('FOO='))).toBe(false);
    expect(readFileSync(join(r.rootfs, 'other.txt'), 'utf8')).toBe('FOO=[] G=[]\n');
    // A new value of the parent's ARG gives a new RUN result in the child, not a cached one.
    const again = build(ctx, 'arginherit:2', ['--build-arg', 'FOO=456']);
    expect(readFileSync(join(again.rootfs, 'child.txt'), 'utf8')).toBe('FOO=[456] G=[glob]\n');
  });

  it('expands EXPOSE ranges to one key per port and validates EXPOSE and STOPSIGNAL as BuildKit', () => {
    const r = build(
      context(
        'expose',
        'FROM busybox\nARG NONE\nEXPOSE 80-82 1000-1001/UDP 8080:90 "" $NONE\nSTOPSIGNAL sigrtmin+3\n',
      ),
      'expose:1',
    );
    expect(r.config.ExposedPorts).toEqual({
      '80/tcp': {},
      '81/tcp': {},
      '82/tcp': {},
      '1000/udp': {},
      '1001/udp': {},
      '90/tcp': {},
    });
    expect(r.config.StopSignal).toBe('sigrtmin+3');
    const none = build(context('expose-none', 'FROM busybox\nEXPOSE ""\n'), 'expose:2');
    expect(none.config.ExposedPorts ?? null).toBeNull();
    for (const [name, line, message] of [
      ['expose-reversed', 'EXPOSE 80 82-80', 'EXPOSE: invalid port "82-80"'],
      ['expose-big', 'EXPOSE 70000', 'EXPOSE: invalid port "70000"'],
      ['expose-proto', 'EXPOSE 80/foo', 'EXPOSE: invalid protocol "foo"'],
      ['stopsignal', 'STOPSIGNAL NOTASIG', 'invalid signal "NOTASIG" in STOPSIGNAL'],
    ]) {
      const failed = buildUnpacked(root, tmp.path, context(name ?? '', `FROM busybox\nLABEL a=b\n${line}\n`));
      expect(failed.status).not.toBe(0);
      expect(failed.stderr).toContain(`Dockerfile:3:1: ${message}`);
    }
  });

  it('creates missing WORKDIR directories owned by the USER, as BuildKit', () => {
    const ctx = context(
      'workdir-user',
      [
        'FROM busybox',
        "RUN mkdir -p /etc /exist && echo 'app:x:1500:1600::/:/bin/sh' >> /etc/passwd && echo 'grp:x:777:' >> /etc/group",
        'USER app',
        'WORKDIR /w/x',
        'WORKDIR /exist/sub',
        'USER 1000:1000',
        'WORKDIR /app',
        'RUN touch file',
        'USER app:grp',
        'WORKDIR /g',
        'USER 1234',
        'WORKDIR /n',
        // An unknown name gives root-owned directories, as BuildKit's mkdir does.
        'USER nosuch',
        'WORKDIR /u',
        'USER root',
        'RUN stat -c "%n %u:%g" /w /w/x /exist /exist/sub /app /app/file /g /n /u > /owners',
        '',
      ].join('\n'),
    );
    const r = build(ctx, 'wduser:1');
    expect(readFileSync(join(r.rootfs, 'owners'), 'utf8').split('\n')).toEqual([
      '/w 1500:1600',
      '/w/x 1500:1600',
      '/exist 0:0',
      '/exist/sub 1500:1600',
      '/app 1000:1000',
      '/app/file 1000:1000',
      '/g 1500:777',
      '/n 1234:1234',
      '/u 0:0',
      '',
    ]);
  });

  it('gives a stage on a base without PATH the default PATH, in its instructions and its image', () => {
    // The test busybox sets no Env at all, as images made with `kiln import`.
    const r = build(
      context('path', 'FROM busybox\nENV PATH=/opt/bin:$PATH\nRUN mkdir -p /opt/bin && ls / > /listed\n'),
      'path:1',
    );
    expect(r.config.Env).toEqual([
      'PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ]);
    expect(readFileSync(join(r.rootfs, 'listed'), 'utf8')).toContain('opt\n');
    const scratch = build(context('path-scratch', 'FROM scratch\nLABEL a=b\n'), 'path:2');
    expect(scratch.config.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    // As BuildKit's empty image: the working directory is the root.
    expect(scratch.config.WorkingDir).toBe('/');
    // A base's own PATH is kept as it is.
    const own = build(context('path-own', 'FROM path:1\nRUN echo "$PATH" > /p\n'), 'path:3');
    expect(own.config.Env).toEqual([
      'PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ]);
    expect(readFileSync(join(own.rootfs, 'p'), 'utf8')).toBe(
      '/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n',
    );
  });
  it('lets an ARG declared after an ENV of its name win during the build, not in the image', () => {
    const dockerfile = [
      'FROM busybox AS base',
      'ENV HELLO=world GREETING=base',
      'FROM base',
      'ARG HELLO=default',
      'ARG GREETING=mine',
      'RUN echo "$HELLO $GREETING" > /run1',
      'ENV X=$HELLO',
      'ENV HELLO=again',
      'RUN echo "$HELLO $GREETING" > /run2',
    ].join('\n');
    const withArg = build(context('arg-after-env', dockerfile), 'argenv:1', ['--build-arg', 'HELLO=cli']);
    expect(readFileSync(join(withArg.rootfs, 'run1'), 'utf8')).toBe('cli mine\n');
    expect(readFileSync(join(withArg.rootfs, 'run2'), 'utf8')).toBe('again mine\n');
    // The image keeps what ENV set; the ARG values were the build's only.
    expect(withArg.config.Env).toEqual(expect.arrayContaining(['HELLO=again', 'GREETING=base', 'X=cli']));
    const defaults = build(context('arg-after-env-2', dockerfile), 'argenv:2');
    expect(readFileSync(join(defaults.rootfs, 'run1'), 'utf8')).toBe('default mine\n');
  });
});
