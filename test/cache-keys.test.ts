import { chmodSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, storeWithBusybox, tempDir } from './support/kiln.js';

const tmp = tempDir('kiln-keys-');
const root = join(tmp.path, 'store');

beforeAll(() => storeWithBusybox(root));
afterAll(() => tmp.cleanup());

interface Case {
  readonly name: string;
  readonly dockerfile: string;
  readonly args?: readonly string[];
  /** What to change between the two builds. */
  readonly change: (ctx: string) => { dockerfile?: string; args?: readonly string[] };
  /** Whether the last step must be rebuilt after the change. */
  readonly rebuilds: boolean;
}

const base = 'FROM busybox\nARG V=1\nENV E=1\nWORKDIR /w\nCOPY f /f\nRUN cat /f > /out\n';

/** Golden table: which inputs are part of a step's cache key and which are not (DESIGN.md §6). */
const cases: readonly Case[] = [
  { name: 'nothing changed', dockerfile: base, change: () => ({}), rebuilds: false },
  {
    name: 'a source file is touched (mtime only)',
    dockerfile: base,
    change: (c) => (utimesSync(join(c, 'f'), new Date(1e12), new Date(1e12)), {}),
    rebuilds: false,
  },
  {
    name: 'a source file changes content',
    dockerfile: base,
    change: (c) => (writeFileSync(join(c, 'f'), 'changed\n'), {}),
    rebuilds: true,
  },
  {
    name: 'a source file changes mode',
    dockerfile: base,
    change: (c) => (chmodSync(join(c, 'f'), 0o755), {}),
    rebuilds: true,
  },
  {
    name: 'an unrelated context file changes',
    dockerfile: base,
    change: (c) => (writeFileSync(join(c, 'other'), 'x'), {}),
    rebuilds: false,
  },
  {
    name: 'a declared build arg changes',
    dockerfile: base,
    change: () => ({ args: ['--build-arg', 'V=2'] }),
    rebuilds: true,
  },
  {
    name: 'an undeclared build arg is given',
    dockerfile: base,
    change: () => ({ args: ['--build-arg', 'UNUSED=2'] }),
    rebuilds: false,
  },
  {
    name: 'an ENV value changes',
    dockerfile: base,
    change: () => ({ dockerfile: base.replace('ENV E=1', 'ENV E=2') }),
    rebuilds: true,
  },
  {
    name: 'WORKDIR changes',
    dockerfile: base,
    change: () => ({ dockerfile: base.replace('WORKDIR /w', 'WORKDIR /x') }),
    rebuilds: true,
  },
  {
    name: 'USER changes',
    dockerfile: base,
    change: () => ({ dockerfile: base.replace('RUN', 'USER root\nRUN') }),
    rebuilds: true,
  },
  {
    name: 'SHELL changes',
    dockerfile: base,
    change: () => ({ dockerfile: base.replace('RUN', 'SHELL ["/bin/sh", "-e", "-c"]\nRUN') }),
    rebuilds: true,
  },
  {
    name: 'RUN --network changes',
    dockerfile: base,
    change: () => ({ dockerfile: base.replace('RUN cat', 'RUN --network=none cat') }),
    rebuilds: true,
  },
  {
    name: 'a comment and blank lines are added',
    dockerfile: base,
    change: () => ({ dockerfile: `# comment\n\n${base}` }),
    rebuilds: false,
  },
  {
    name: 'a LABEL after the step changes',
    dockerfile: base,
    change: () => ({ dockerfile: `${base}LABEL a=b\n` }),
    rebuilds: false,
  },
  {
    name: 'the base image gets another tag (same digest)',
    dockerfile: base,
    change: () => ({ dockerfile: base.replace('FROM busybox', 'FROM busybox:latest') }),
    rebuilds: false,
  },
];

describe('cache keys (golden table)', () => {
  cases.forEach((c, i) => {
    it(`${c.name} → ${c.rebuilds ? 'rebuilds' : 'stays cached'}`, () => {
      const ctx = join(tmp.path, `case-${i}`);
      mkdirSync(ctx, { recursive: true });
      writeFileSync(join(ctx, 'Dockerfile'), c.dockerfile);
      writeFileSync(join(ctx, 'f'), 'content\n');
      chmodSync(join(ctx, 'f'), 0o644);
      // A per-case marker keeps cases from hitting each other's cache entries.
      const marker = ['--build-arg', `V=${i}-1`];
      const first = kiln(root, ['build', '--progress', 'plain', ...marker, ...(c.args ?? []), ctx]);
      expect(first.status).toBe(0);
      const changed = c.change(ctx);
      if (changed.dockerfile) writeFileSync(join(ctx, 'Dockerfile'), changed.dockerfile);
      const args = changed.args?.[1]?.startsWith('V=')
        ? ['--build-arg', `V=${i}-2`]
        : [...marker, ...(changed.args ?? [])];
      const second = kiln(root, ['build', '--progress', 'plain', ...args, ctx]);
      expect(second.status).toBe(0);
      // The step line is `#<id> [k/n] RUN … cat /f > /out`; it is cached when `#<id> CACHED` follows.
      const id = /^#(\d+) \[[^\]]*\] RUN .*cat \/f > \/out$/m.exec(second.stderr)?.[1];
      expect(id).toBeDefined();
      const cached = new RegExp(`^#${id} CACHED$`, 'm').test(second.stderr);
      expect({ case: c.name, rebuilt: !cached }).toEqual({ case: c.name, rebuilt: c.rebuilds });
    });
  });
});
