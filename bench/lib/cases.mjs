// The benchmark's cases, generated deterministically: nothing large is committed.
import { Buffer } from 'node:buffer';
import { createCipheriv } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sh } from './processes.mjs';

/** Deterministic bytes: AES-128-CTR keystream with a fixed key, so files do not compress away. */
export function keystream(seedText, n) {
  const key = Buffer.alloc(16);
  key.write(seedText.padEnd(16, '.').slice(0, 16));
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}
/**
 * The benchmark's cases: each a Dockerfile, the context file a "changed" rebuild edits, how to
 * edit it (default: a line appended), the bases beyond busybox, and how to generate the context.
 * Everything is derived from the arguments, so every run of the harness builds the same bytes.
 */
export function makeCases({ base: BASE, debian: DEBIAN, files, bytes, bigBytes }) {
  return {
    hello: {
      dockerfile: `FROM ${BASE}\nRUN echo hello > /hello.txt\nCOPY app.txt /app.txt\n`,
      changeFile: 'app.txt',
      gen(dir) {
        fs.writeFileSync(path.join(dir, 'app.txt'), 'hello from the build context\n');
      },
    },
    multistage: {
      dockerfile:
        `FROM ${BASE} AS a\nRUN sleep 2 && echo a > /a.txt\n` +
        `FROM ${BASE} AS b\nRUN sleep 2 && echo b > /b.txt\n` +
        `FROM ${BASE}\nCOPY --from=a /a.txt /a.txt\nCOPY --from=b /b.txt /b.txt\nCOPY app.txt /app.txt\n`,
      changeFile: 'app.txt',
      gen(dir) {
        fs.writeFileSync(path.join(dir, 'app.txt'), 'multistage\n');
      },
    },
    bigcontext: {
      dockerfile: `FROM ${BASE}\nCOPY files /data\nRUN touch /data/d00/f00000\n`,
      changeFile: 'files/d07/f00007',
      gen(dir) {
        const per = Math.floor(bytes / files);
        const data = keystream('bigcontext', bytes);
        for (let i = 0; i < files; i++) {
          const d = path.join(dir, 'files', `d${String(i % 100).padStart(2, '0')}`);
          if (i < 100) fs.mkdirSync(d, { recursive: true });
          fs.writeFileSync(
            path.join(d, `f${String(i).padStart(5, '0')}`),
            data.subarray(i * per, (i + 1) * per),
          );
        }
      },
    },
    debian: {
      // Shell steps on a real distribution base: users, files, a script from the context.
      bases: () => [DEBIAN],
      dockerfile:
        `FROM ${DEBIAN}\n` +
        `RUN useradd --create-home --shell /bin/bash app\n` +
        `RUN mkdir -p /srv/data && for i in $(seq 1 200); do echo "line $i" > /srv/data/f$i.txt; done\n` +
        `RUN dpkg-query -W -f '\${Package} \${Version}\\n' > /srv/packages.txt\n` +
        `WORKDIR /srv\n` +
        `COPY app.sh /srv/app.sh\n` +
        `RUN /srv/app.sh > /srv/report.txt\n` +
        `USER app\n`,
      changeFile: 'app.sh',
      change: (run) => `# changed in run ${run}\n`,
      gen(dir) {
        fs.writeFileSync(
          path.join(dir, 'app.sh'),
          '#!/bin/bash\nwc -l /srv/packages.txt; ls /srv/data | wc -l\n',
          {
            mode: 0o755,
          },
        );
      },
    },
    'debian-apt': {
      // apt-get from the Debian mirror in a RUN (host network for every tool).
      bases: () => [DEBIAN],
      dockerfile:
        `FROM ${DEBIAN}\n` +
        `RUN apt-get update && apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*\n` +
        `COPY app.json /app.json\n` +
        `RUN jq .name /app.json > /name.txt\n`,
      changeFile: 'app.json',
      change: (run) => `{"name":"changed in run ${run}"}\n`,
      gen(dir) {
        fs.writeFileSync(path.join(dir, 'app.json'), '{"name":"debian-apt"}\n');
      },
    },
    biglayer: {
      // busybox head takes no 1G suffix: the byte count is spelled out.
      dockerfile: `FROM ${BASE}\nRUN head -c ${bigBytes} /dev/urandom > /big.bin\nCOPY app.txt /app.txt\n`,
      changeFile: 'app.txt',
      gen(dir) {
        fs.writeFileSync(path.join(dir, 'app.txt'), 'biglayer\n');
      },
    },
  };
}

/** Writes each named case's Dockerfile and context under `dir/<case>`, every mtime the same. */
export function generateCases(dir, names, cases) {
  for (const name of names) {
    const d = path.join(dir, name);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'Dockerfile'), cases[name].dockerfile);
    cases[name].gen(d);
    // Same mtimes everywhere: no tool gets a different answer from a stat-based shortcut.
    sh('find', [d, '-exec', 'touch', '-h', '-d', '@1000000000', '{}', '+']);
  }
}
