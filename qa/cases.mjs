// The Dockerfiles the differential QA builds with kiln and with BuildKit. Each case: `about`,
// `dockerfile({ base, reg, debian, http })`, the context's `files` (see qa/lib/context.mjs), the
// files `served` over plain HTTP below the URL `http` (same shapes), `args`
// given to both builders, `expectFailure` when both must refuse it, `needs: 'debian'` for cases on
// the debootstrap base, and `known`: differences accepted, by key pattern (qa/lib/compare.mjs),
// each with the reason (`knownRootless`: more of them for `qa/run --rootless`; `notRootless`: why
// a case cannot be built rootless). A known difference that stops occurring fails the run: the
// list stays true.
//
// BuildKit here is Docker 20.10's (Debian's docker.io), whose built-in Dockerfile frontend
// predates heredocs, COPY --link/--parents/--exclude and ADD --checksum: cases use what it has.

/** Differences accepted in every case, with the reason. */
export const GLOBAL_KNOWN = {
  'fs:*:dir-mtime':
    'kiln keeps a copied directory’s own time and stamps directories it creates with 0 (SOURCE_DATE_EPOCH when set), so that a layer is the same bytes on every build; BuildKit 20.10 stamps both with the build’s clock',
};

/** Files most cases copy: a text file, a script, a directory with a hidden file and a subdirectory. */
const COMMON = {
  'f.txt': 'hello\n',
  'run.sh': { content: '#!/bin/sh\necho run\n', mode: 0o755 },
  'dir/a.txt': 'a\n',
  'dir/.hidden': 'h\n',
  'dir/sub/b.txt': { content: 'b\n', mode: 0o600 },
};

export const cases = {
  'config-basics': {
    known: {
      history:
        'kiln writes a HEALTHCHECK\'s history text as current BuildKit does, Go\'s %q of its healthcheck struct, which has had a StartInterval since 20.10: one more "0s"',
    },
    about:
      'metadata instructions: LABEL, ENV forms, EXPOSE ranges, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD, USER, WORKDIR, ENTRYPOINT/CMD',
    dockerfile: ({ base }) => `FROM ${base}
LABEL a=1 "b c"="d e"
ENV A=1 B="two words" C=\${A}x
ENV LEGACY value with spaces
EXPOSE 80 443/udp 8000-8002 9000/tcp
VOLUME /data ["/logs"]
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD wget -q -O- http://localhost/ || exit 1
SHELL ["/bin/sh", "-ec"]
WORKDIR /srv/app
USER 1000:1000
ONBUILD RUN echo child
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo hi"]
`,
  },
  'entrypoint-resets-cmd': {
    about: 'an ENTRYPOINT clears the CMD inherited from the base; shell forms',
    dockerfile: ({ base }) => `FROM ${base} AS parent
CMD ["sleep", "1"]
FROM parent AS child
ENTRYPOINT ["echo"]
FROM child
CMD echo $HOME
`,
  },
  'cmd-not-json': {
    about: 'an exec form that is not valid JSON is a shell form',
    dockerfile: ({ base }) => `FROM ${base}
CMD [ "bad json
ENTRYPOINT ['single', 'quotes']
`,
  },
  'args-and-expansion': {
    known: {
      history:
        "kiln's ARG history entries show the value the ARG resolved to (build arg, default, global or automatic), as current BuildKit does; BuildKit 20.10 shows the Dockerfile's text",
    },
    about: 'global ARGs in FROM, defaults, --build-arg, ${:-} and ${:+} expansions, ENV from ARG',
    args: ['--build-arg', 'W=cli'],
    dockerfile: ({ reg }) => `ARG TAG=latest
ARG V=1
FROM ${reg}/busybox:\${TAG}
ARG V
ARG W=def
ARG U
ENV E=$V-$W
RUN echo "$V $W $E \${W:-x} \${U:-unset} \${W:+set} \${U:+set}" > /args
`,
  },
  'arg-after-env': {
    known: {
      history:
        "kiln's ARG history entries show the value the ARG resolved to (build arg, default, global or automatic), as current BuildKit does; BuildKit 20.10 shows the Dockerfile's text",
    },
    about: 'an ARG after an ENV of the same name wins during the build, the image keeps the ENV',
    args: ['--build-arg', 'X=cli'],
    dockerfile: ({ base }) => `FROM ${base}
ENV X=image
ARG X
RUN echo "$X" > /x
ENV X=again
RUN echo "$X" > /x2
`,
  },
  'path-default': {
    about: 'ENV PATH extending the default PATH of a base without one',
    dockerfile: ({ base }) => `FROM ${base}
ENV PATH=/opt/bin:$PATH
RUN echo "$PATH" > /path
`,
  },
  'run-environment': {
    about:
      'what a RUN step sees: identity, umask, cwd, environment, hosts, limits, capabilities, seccomp, /dev',
    knownRootless: {
      'fs:/probe-dev:*':
        'the host’s device nodes bound into a rootless step belong to ids its user namespace does not map (65534), as in rootless Docker or Podman',
    },
    known: {
      'fs:/probe-cgroup:*':
        'the step’s /sys/fs/cgroup: kiln’s tmpfs is read-only and holds the unified (v2) hierarchy of a hybrid host too; runc’s (Docker 20.10) is writable and leaves it out',
      'fs:/etc/hostname:only-buildkit':
        'BuildKit 20.10 leaves the empty /etc/hostname it mounted over in the layer of a step that wrote to it; kiln (like BuildKit since v0.11, moby/buildkit#3307) leaves no mount point',
    },
    dockerfile: ({ base }) => `FROM ${base}
# The step's hostname differs by design (kiln: kiln, BuildKit: buildkitsandbox): left out.
RUN (id; umask; pwd; env | grep -v -e '^HOSTNAME=' | sort; echo; sed "s/$(hostname)/HOSTNAME/" /etc/hosts; ulimit -n; \\
     grep -E '^(Seccomp|NoNewPrivs|Cap(Inh|Prm|Eff|Bnd|Amb))' /proc/self/status; \\
     ls /proc/self/fd | wc -l; \\
     for f in /etc/hosts /etc/resolv.conf /etc/hostname; do (: >> $f) 2>/dev/null && echo "$f writable" || echo "$f read-only"; done; \\
     grep -E ' / | /proc | /sys | /dev | /dev/shm | /dev/mqueue | /dev/pts ' /proc/self/mounts | awk '{ split($4, o, ","); print $2, $3, o[1] }' | sort) > /probe 2>&1
RUN ls -ln /dev | awk '{print $1, $3, $4, $NF}' > /probe-dev
RUN grep ' /sys/fs/cgroup' /proc/self/mounts | awk '{ split($4, o, ","); print $2, $3, o[1] }' | sort > /probe-cgroup
`,
  },
  'run-users': {
    about: 'USER by name, name:group, numeric unknown uid; supplementary groups',
    dockerfile: ({ base }) => `FROM ${base}
RUN echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd \\
 && printf 'app:x:1000:\\nextra:x:2000:app\\n' >> /etc/group
USER app
RUN id > /tmp/id-app
USER app:app
RUN id > /tmp/id-app-app
USER app:extra
RUN id > /tmp/id-app-extra
USER 4242
RUN id > /tmp/id-4242
USER root
RUN cp /tmp/id-* / && rm /tmp/id-*
`,
  },
  workdir: {
    about: 'relative WORKDIRs, variables, a WORKDIR made as a non-root USER',
    dockerfile: ({ base }) => `FROM ${base}
ENV D=/abs
WORKDIR rel
WORKDIR more
RUN pwd > /pwd1
WORKDIR $D/x
RUN pwd > /pwd2
USER 1000
WORKDIR /owned/deeper
RUN touch made-by-1000
`,
  },
  'copy-basics': {
    about: 'COPY of files, a directory, its contents, the whole context; modes and mtimes kept',
    files: {
      ...COMMON,
      'sp ace.txt': 'space\n',
      'ünï.txt': 'unicode\n',
      [`${'n'.repeat(150)}.txt`]: 'long name\n',
    },
    dockerfile: ({ base }) => `FROM ${base}
COPY f.txt /
COPY run.sh /usr/local/bin/
COPY dir /dir2
COPY dir/ /dir3/
COPY . /ctx/
COPY ["sp ace.txt", "/with space/"]
`,
  },
  'copy-chown-chmod': {
    known: {
      history:
        "kiln's COPY/ADD history texts name --chown and --chmod, as current BuildKit does; BuildKit 20.10 leaves them out",
    },
    about: 'COPY --chown and --chmod on files and directories, created parents',
    files: COMMON,
    dockerfile: ({ base }) => `FROM ${base}
COPY --chown=1000:1000 f.txt /o/f
COPY --chown=1000 dir /o/d/
COPY --chown=5:6 dir /p/q/r/
COPY --chmod=0600 f.txt /m/
COPY --chmod=755 dir /m/d/
`,
  },
  'copy-destination-links': {
    about: 'COPY destinations through symlinks the image has (absolute, relative, to a file)',
    files: COMMON,
    dockerfile: ({ base }) => `FROM ${base}
RUN mkdir /real && ln -s /real /link && ln -s real /rel && touch /target && ln -s /target /flink
COPY f.txt /link/
COPY f.txt /rel/g
COPY dir/ /link/d/
COPY f.txt /flink
`,
  },
  'copy-existing-dirs': {
    about: 'COPY into directories the image has keeps their mode and owner',
    files: COMMON,
    dockerfile: ({ base }) => `FROM ${base}
RUN mkdir -p /srv && chmod 0750 /srv && chown 7:8 /srv
COPY dir /tmp/
COPY dir /srv/
COPY f.txt /etc/
`,
  },
  'copy-wildcards': {
    about: 'wildcard sources: several matches, none, character classes',
    known: {
      layers: 'a COPY that copies nothing adds no layer in kiln; BuildKit 20.10 adds an empty one',
      history: 'and so its history entry is an empty layer',
    },
    files: {
      'a.txt': 'a\n',
      'b.txt': 'b\n',
      'a.md': 'am\n',
      'b.md': 'bm\n',
      'dir/x.txt': 'x\n',
      'dor/y.txt': 'y\n',
    },
    dockerfile: ({ base }) => `FROM ${base}
COPY *.txt /w/
COPY nomatch* /w/
COPY d?r/ /w2/
COPY [ab].md /w3/
COPY */x.txt /w4/
`,
  },
  'copy-context-symlinks': {
    about: 'symlinks in the context: copied as links inside directories, followed as a source',
    files: {
      ...COMMON,
      'links/rel': { symlink: '../f.txt' },
      'links/abs': { symlink: '/etc/passwd' },
      'links/dangling': { symlink: 'nope' },
      'links/dir': { symlink: '../dir' },
      'top-link': { symlink: 'f.txt' },
    },
    dockerfile: ({ base }) => `FROM ${base}
COPY links /links/
COPY top-link /followed
`,
  },
  'copy-hardlinks': {
    about: 'hard links in the context copied by one COPY',
    files: { a: 'same\n', 'd/b': { hardlink: 'a' }, c: 'same\n' },
    dockerfile: ({ base }) => `FROM ${base}
COPY . /h/
COPY a d/ /two-sources/
`,
  },
  'copy-from-stage': {
    about: 'COPY --from a stage keeps owners, modes and links; by index, name and wildcard',
    dockerfile: ({ base }) => `FROM ${base} AS s1
RUN mkdir -p /out/sub && echo a > /out/a.txt && chown 5:6 /out/a.txt && chmod 640 /out/a.txt \\
 && ln -s a.txt /out/l && echo b > /out/sub/b.txt && chown 7:7 /out/sub
FROM ${base}
COPY --from=0 /out /o
COPY --from=s1 /out/a.txt /single
COPY --from=s1 /out/ /o2/
COPY --from=s1 /out/*.txt /w/
COPY --from=s1 /out/l /followed
`,
  },
  'copy-from-image': {
    about: 'COPY --from an image reference',
    dockerfile: ({ base }) => `FROM ${base}
COPY --from=${base} /bin/busybox /bb
`,
  },
  dockerignore: {
    about: '.dockerignore patterns: exclusions, exceptions, directories, ** and comments',
    files: {
      '.dockerignore': '# comment\n*.log\n!keep.log\ntmp/\n**/*.bak\nsecret*\n',
      'a.log': 'x\n',
      'keep.log': 'k\n',
      'tmp/x': 'x\n',
      'd/e/f.bak': 'bak\n',
      'd/e/f.txt': 'txt\n',
      'secret.txt': 's\n',
      'ok.txt': 'ok\n',
    },
    dockerfile: ({ base }) => `FROM ${base}
COPY . /ctx/
`,
  },
  'add-archives': {
    about: 'ADD unpacks local tar archives (plain, gzip, bzip2, xz); a gzip that is not a tar is copied',
    files: {
      'a.tar': { tar: { 'x/1.txt': 'one\n', 'x/2.txt': 'two\n' } },
      'b.tar.gz': { tar: { 'y/1.txt': 'one\n' }, compress: 'gzip' },
      'c.tar.bz2': { tar: { 'z/1.txt': 'one\n' }, compress: 'bzip2' },
      'd.tar.xz': { tar: { 'w/1.txt': 'one\n' }, compress: 'xz' },
      'notar.gz': { content: 'just text\n', compress: 'gzip' },
    },
    dockerfile: ({ base }) => `FROM ${base}
ADD a.tar /a/
ADD b.tar.gz /b/
ADD c.tar.bz2 /c/
ADD d.tar.xz /d/
ADD notar.gz /n/
ADD a.tar /no-slash
`,
  },
  'add-archive-attributes': {
    about: 'ADD keeps an archive’s owners, modes and special bits; --chown on an archive',
    known: {
      history:
        "kiln's COPY/ADD history texts name --chown and --chmod, as current BuildKit does; BuildKit 20.10 leaves them out",
      'fs:/t2/*:uid':
        '--chown applies to an archive’s entries in kiln, as in BuildKit since v0.23 (moby/buildkit#1547); 20.10’s ignores it',
      'fs:/t2/*:gid': 'as for uid',
    },
    files: {
      't.tar': {
        tar: {
          'o/owned.txt': { content: 'o\n', uid: 1000, gid: 1000, mode: 0o700 },
          'o/setuid': { content: 's\n', mode: 0o4755 },
          'o/dir/': { dir: true, mode: 0o750, uid: 3, gid: 3 },
        },
      },
    },
    dockerfile: ({ base }) => `FROM ${base}
ADD t.tar /t/
ADD --chown=5:5 t.tar /t2/
`,
  },
  'run-layers': {
    about: 'deletions and replacements across RUN layers (whiteouts, opaque directories)',
    dockerfile: ({ base }) => `FROM ${base}
RUN mkdir -p /w/d && touch /w/d/a /w/d/b /w/f && ln -s d /w/l
RUN rm -rf /w/d /w/f && mkdir /w/d && touch /w/d/c && rm /w/l && mkdir /w/l
RUN rm /bin/ls /etc/group
`,
  },
  'run-modes': {
    about: 'special modes and file types made by RUN: setuid, sticky, 000, fifo',
    dockerfile: ({ base }) => `FROM ${base}
RUN touch /s && chmod 4755 /s && mkdir /sticky && chmod 1777 /sticky && touch /none && chmod 000 /none \\
 && mkfifo /fifo
`,
  },
  'run-device-node': {
    about: 'a device node made by RUN (CAP_MKNOD, as Docker grants)',
    notRootless: 'no user namespace may make device nodes',
    dockerfile: ({ base }) => `FROM ${base}
RUN mknod /null2 c 1 3 && mknod /blk b 7 0
`,
  },
  'volume-then-run': {
    about: 'a RUN writing below a VOLUME declared earlier',
    dockerfile: ({ base }) => `FROM ${base}
VOLUME /v
RUN mkdir -p /v && touch /v/x
`,
  },
  'run-mounts': {
    about: 'RUN --mount: bind from the context and from a stage, tmpfs, cache',
    known: {
      'fs:/*:only-buildkit':
        'mount points a step needed are not left in kiln’s layer, as BuildKit since v0.11 (moby/buildkit#3307); 20.10’s leaves the directories',
    },
    files: COMMON,
    dockerfile: ({ base }) => `FROM ${base} AS src
RUN mkdir /data && echo from-stage > /data/s
FROM ${base}
RUN --mount=type=bind,source=f.txt,target=/m cat /m > /from-bind
RUN --mount=type=bind,from=src,source=/data,target=/d cat /d/s > /from-stage
RUN --mount=type=tmpfs,target=/t sh -c 'touch /t/x && ls /t > /tmpfs-ls'
RUN --mount=type=cache,target=/c sh -c 'echo 1 >> /c/n && cat /c/n > /cache-n'
`,
  },
  'target-stage': {
    about: '--target builds a middle stage',
    args: ['--target', 'middle'],
    dockerfile: ({ base }) => `FROM ${base} AS first
RUN echo first > /first
FROM first AS middle
RUN echo middle > /middle
FROM middle
RUN echo last > /last
`,
  },
  'exec-form-run': {
    about: 'exec-form RUN: arguments without a shell, no variable expansion',
    dockerfile: ({ base }) => `FROM ${base}
RUN ["/bin/sh", "-c", "echo $0 $1 > /ex", "zero", "one"]
RUN ["touch", "/$HOME"]
`,
  },
  'variables-in-instructions': {
    about: 'variables in WORKDIR, COPY, LABEL, EXPOSE, USER; escapes and quotes in ENV',
    files: COMMON,
    dockerfile: ({ base }) => `FROM ${base}
ARG PORT=1234
ENV D=/data F=file X="a\\"b" Y='single $D' Z=a\\ b
WORKDIR $D
COPY f.txt $D/$F
LABEL l=$D
EXPOSE $PORT
RUN echo "$X|$Y|$Z" > /esc
`,
  },
  onbuild: {
    about: 'ONBUILD triggers of a stage used as a base',
    dockerfile: ({ base }) => `FROM ${base} AS parent
ONBUILD RUN touch /onbuild-ran
FROM parent
RUN ls /onbuild-ran > /seen 2>&1 || true
`,
  },
  'copy-as-user': {
    about: 'COPY after USER: ownership stays root unless --chown; created parents',
    files: COMMON,
    dockerfile: ({ base }) => `FROM ${base}
USER 1000
COPY f.txt /a/b/c/
COPY dir /x/
`,
  },
  'healthcheck-forms': {
    known: {
      history:
        'kiln writes a HEALTHCHECK\'s history text as current BuildKit does, Go\'s %q of its healthcheck struct, which has had a StartInterval since 20.10: one more "0s"',
    },
    about: 'HEALTHCHECK exec form with every option, then NONE in a child stage',
    dockerfile: ({ base }) => `FROM ${base} AS checked
HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 CMD ["/bin/true", "arg"]
FROM checked AS unchecked
HEALTHCHECK NONE
FROM checked
`,
    args: ['--target', 'unchecked'],
  },
  'env-same-line': {
    about: 'variables on one ENV line expand with the values from before the line',
    dockerfile: ({ base }) => `FROM ${base}
ENV abc=hello
ENV abc=bye def=$abc
ENV ghi=$abc
LABEL def=$def ghi=$ghi
`,
  },
  'shell-instruction': {
    about: 'SHELL changes the shell of later RUNs and of shell-form CMD/ENTRYPOINT',
    dockerfile: ({ base }) => `FROM ${base}
SHELL ["/bin/sh", "-c", "echo shell-was-used > /shell-marker; eval \\"$1\\"", "sh"]
RUN echo run > /run-marker
CMD echo cmd
ENTRYPOINT echo entry
`,
  },
  'arg-scopes': {
    known: {
      history:
        "kiln's ARG history entries show the value the ARG resolved to (build arg, default, global or automatic), as current BuildKit does; BuildKit 20.10 shows the Dockerfile's text",
    },
    about: 'an ARG before FROM is not seen in the stage unless declared again; an empty ARG; proxies',
    args: ['--build-arg', 'HTTP_PROXY=http://proxy.invalid:3128', '--build-arg', 'EMPTY='],
    dockerfile: ({ base }) => `ARG OUTSIDE=outside
FROM ${base}
ARG EMPTY
ARG NODEFAULT
RUN echo "[$OUTSIDE] [$EMPTY] [\${NODEFAULT-unset}] [$HTTP_PROXY]" > /scopes
ARG OUTSIDE
RUN echo "[$OUTSIDE]" > /scopes2
`,
  },
  'build-arg-from-env': {
    known: {
      history:
        "kiln's ARG history entries show the value the ARG resolved to (build arg, default, global or automatic), as current BuildKit does; BuildKit 20.10 shows the Dockerfile's text",
    },
    about: '--build-arg NAME without a value takes the value from the environment (qa/run sets QA_FROM_ENV)',
    args: ['--build-arg', 'QA_FROM_ENV', '--build-arg', 'QA_UNSET_ENV'],
    dockerfile: ({ base }) => `FROM ${base}
ARG QA_FROM_ENV=default
ARG QA_UNSET_ENV=kept-default
RUN echo "$QA_FROM_ENV $QA_UNSET_ENV" > /from-env
`,
  },
  'chown-by-name': {
    known: {
      history:
        "kiln's COPY/ADD history texts name --chown and --chmod, as current BuildKit does; BuildKit 20.10 leaves them out",
    },
    about: 'COPY --chown with names from the image’s passwd and group; COPY --from with --chown',
    files: COMMON,
    dockerfile: ({ base }) => `FROM ${base} AS src
RUN mkdir /out && echo x > /out/x && chown 9:9 /out/x
FROM ${base}
RUN echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && printf 'app:x:1000:\\nextra:x:2000:\\n' >> /etc/group
COPY --chown=app f.txt /by-user
COPY --chown=app:extra f.txt /by-user-group
COPY --chown=:extra f.txt /by-group
COPY --from=src --chown=app:app /out /from-src
`,
  },
  'relative-destinations': {
    about: 'COPY and ADD to destinations relative to WORKDIR; dot segments',
    files: { ...COMMON, 'a.tar': { tar: { 'x/1.txt': 'one\n' } } },
    dockerfile: ({ base }) => `FROM ${base}
WORKDIR /app
COPY f.txt .
COPY dir ./d/
ADD a.tar ./
COPY ./dir/../f.txt /dots/
COPY f.txt /a/../b/
ADD f.txt renamed
`,
  },
  'workdir-through-link': {
    about: 'WORKDIR below a symlink the image has; RUN sees the path as written',
    dockerfile: ({ base }) => `FROM ${base}
RUN mkdir /real && ln -s /real /lnk
WORKDIR /lnk/sub
RUN pwd > /pwd && touch here
`,
  },
  'onto-links': {
    about: 'COPY of a file onto a symlink (to a file, to a missing target, to a directory)',
    files: COMMON,
    dockerfile: ({ base }) => `FROM ${base}
RUN echo old > /old && ln -s /old /to-file && ln -s /missing /to-missing && mkdir /d && ln -s /d /to-dir
COPY f.txt /to-file
COPY f.txt /to-missing
COPY f.txt /to-dir
`,
  },
  'expose-forms': {
    about: 'EXPOSE protocol case, duplicates, and STOPSIGNAL as a number',
    dockerfile: ({ base }) => `FROM ${base}
EXPOSE 80/TCP 80 53/udp 53/UDP
STOPSIGNAL 9
`,
  },
  'inherited-config': {
    about:
      'a stage inherits CMD, ENTRYPOINT, ENV, USER, WORKDIR, LABEL from its base stage; ENTRYPOINT in the same stage keeps CMD',
    dockerfile: ({ base }) => `FROM ${base} AS parent
ENV P=1
LABEL p=1
USER 7
WORKDIR /w
CMD ["parent-cmd"]
FROM parent AS keeps
FROM ${base} AS same-stage
CMD ["cmd"]
ENTRYPOINT ["entry"]
FROM keeps
LABEL c=2
`,
  },
  'dockerignore-edges': {
    about:
      '.dockerignore: leading / and ./, ** in the middle, an exception inside an excluded directory, the Dockerfile itself',
    files: {
      '.dockerignore':
        '/top.txt\n./dot.txt\na/**/deep.txt\nexcluded\n!excluded/keep.txt\nDockerfile\n.dockerignore\n',
      'top.txt': 't\n',
      'sub/top.txt': 'kept\n',
      'dot.txt': 'd\n',
      'a/b/c/deep.txt': 'x\n',
      'a/deep.txt': 'y\n',
      'excluded/drop.txt': 'z\n',
      'excluded/keep.txt': 'k\n',
    },
    dockerfile: ({ base }) => `FROM ${base}
COPY . /ctx/
`,
  },
  'context-modes': {
    about: 'modes of context files and directories: setuid, 0700 directory, 0000 file, executable',
    files: {
      'bin/tool': { content: '#!/bin/sh\n', mode: 0o4755 },
      'private/': { dir: true, mode: 0o700 },
      'private/key': { content: 'k\n', mode: 0o600 },
      none: { content: 'n\n', mode: 0 },
      'group-x': { content: 'g\n', mode: 0o710 },
    },
    dockerfile: ({ base }) => `FROM ${base}
COPY . /m/
COPY private /p
`,
  },
  'dest-forms': {
    about: 'COPY destinations: an existing directory without a slash, a new name, the root',
    files: COMMON,
    dockerfile: ({ base }) => `FROM ${base}
COPY f.txt /tmp
COPY f.txt /new-name
COPY dir/a.txt /
COPY run.sh .
`,
  },
  'run-layer-kinds': {
    about:
      'what RUN layers record: a mode-only change, file to directory and back, hard links in and across layers',
    dockerfile: ({ base }) => `FROM ${base}
RUN echo a > /a && mkdir /swap && echo f > /f2d && ln /a /a-link
RUN chmod 0700 /etc && chmod 0600 /a && rm /f2d && mkdir /f2d && rmdir /swap && echo now-file > /swap
RUN ln /a /a-link2 && touch -d @1234567890 /a-link
`,
  },
  'escape-directive': {
    about: 'the escape directive (backtick) and line continuations with it',
    dockerfile: ({ base }) => `# escape=\`
FROM ${base}
RUN echo one \`
    two > /out
ENV P=C:\\path\\to
LABEL l="a\`"b"
`,
  },
  'nested-expansion': {
    known: {
      history:
        "kiln's ARG history entries show the value the ARG resolved to (build arg, default, global or automatic), as current BuildKit does; BuildKit 20.10 shows the Dockerfile's text",
    },
    about: 'nested and escaped variable expansion',
    args: ['--build-arg', 'B=bee'],
    dockerfile: ({ base }) => `FROM ${base}
ARG A
ARG B
ENV N=\${A:-\${B}} M=\${B:+x\${B}x} E=\\$B L='$B' Q="$B"
RUN echo "$N|$M|$E|$L|$Q" > /exp
`,
  },
  'user-env': {
    about: 'USER and WORKDIR from variables; a RUN as that user',
    dockerfile: ({ base }) => `FROM ${base}
ENV U=1234 G=5678 W=/home/u
WORKDIR $W
RUN chown $U:$G $W
USER $U:$G
RUN id > id.txt && touch made
`,
  },
  'scratch-stage': {
    about: 'a FROM scratch image with a binary copied from another image, and its config defaults',
    dockerfile: ({ base }) => `FROM scratch
COPY --from=${base} /bin/busybox /busybox
CMD ["/busybox", "true"]
`,
  },
  'copy-from-root': {
    about: 'COPY --from a stage’s root and a symlink to a directory with a trailing slash',
    dockerfile: ({ base }) => `FROM ${base} AS s
RUN mkdir -p /data/x && echo 1 > /data/x/1 && ln -s /data/x /xl
FROM scratch AS small
COPY --from=s /data /data
FROM ${base}
COPY --from=small / /all/
COPY --from=s /xl/ /via-link/
`,
  },
  'unknown-user': {
    about: 'a USER missing from the image fails the RUN after it',
    expectFailure: true,
    dockerfile: ({ base }) => `FROM ${base}
USER nobody-here
RUN true
`,
  },
  'label-forms': {
    about: 'LABEL with continuations, quotes, escapes and an empty value; MAINTAINER',
    dockerfile: ({ base }) => `FROM ${base}
MAINTAINER someone <s@example.com>
LABEL multi="line one \\
line two" empty="" quoted='single "inner"' escaped=a\\ b
LABEL "key with spaces"=v
`,
  },
  'add-urls': {
    known: {
      history:
        "kiln's COPY/ADD history texts name --chown and --chmod, as current BuildKit does; BuildKit 20.10 leaves them out",
    },
    about:
      'ADD from URLs: file name and time from the server, into a directory, renamed, an archive not unpacked, --chown',
    served: {
      'file.txt': 'served\n',
      'a.tar.gz': { tar: { 'x/1.txt': 'one\n' }, compress: 'gzip' },
    },
    dockerfile: ({ base, http }) => `FROM ${base}
ADD ${http}/file.txt /
ADD ${http}/file.txt /dir/
ADD ${http}/file.txt /renamed
ADD ${http}/a.tar.gz /x/
ADD --chown=5:6 ${http}/file.txt /owned
`,
  },
  'copy-many-to-no-slash': {
    about: 'COPY of several files to a destination without a trailing slash',
    files: { 'one.txt': '1\n', 'two.txt': '2\n' },
    dockerfile: ({ base }) => `FROM ${base}
COPY one.txt two.txt /multi
`,
    known: {
      'fs:/multi*':
        'kiln makes /multi a directory holding both files (the reference requires the slash; BuildKit says it treats the target as a directory); BuildKit writes each file over /multi in turn (moby/buildkit#1853, open)',
    },
  },
  'platform-args': {
    known: {
      history:
        "kiln's ARG history entries show the value the ARG resolved to (build arg, default, global or automatic), as current BuildKit does; BuildKit 20.10 shows the Dockerfile's text",
    },
    about: 'the automatic platform ARGs, visible once declared; a stage chosen by an ARG',
    dockerfile: ({ base }) => `ARG STAGE=picked
FROM ${base} AS picked
ARG TARGETARCH
ARG TARGETOS
ARG TARGETPLATFORM
ARG BUILDARCH
RUN echo "$TARGETOS/$TARGETARCH $TARGETPLATFORM $BUILDARCH [$BUILDOS]" > /platform
FROM \${STAGE}
RUN echo chosen > /chosen
`,
  },
  'platform-flag': {
    about:
      "--platform naming this machine's platform, and the cross-compiling FROM --platform=$BUILDPLATFORM",
    args: ['--platform', 'linux/amd64'],
    dockerfile: ({ base }) => `FROM --platform=$BUILDPLATFORM ${base} AS build
ARG TARGETPLATFORM
ARG BUILDPLATFORM
RUN echo "$BUILDPLATFORM -> $TARGETPLATFORM" > /cross
FROM ${base}
COPY --from=build /cross /cross
`,
  },
  'add-host': {
    about: "--add-host: the step's /etc/hosts gets the line (IPv4 and IPv6)",
    args: ['--add-host', 'db:10.0.0.5', '--add-host', 'v6:2001:db8::1'],
    dockerfile: ({ base }) => `FROM ${base}
RUN grep -wE 'db|v6' /etc/hosts > /extra
`,
  },
  'ulimit-flag': {
    about: "--ulimit: the step's resource limits",
    args: ['--ulimit', 'nofile=512:1024'],
    known: {
      'fs:/nofile:*':
        "BuildKit 20.10 ignores docker build's --ulimit for its steps (its own default shows); current BuildKit's frontend applies it to every RUN, as kiln does (and as the classic builder did)",
    },
    dockerfile: ({ base }) => `FROM ${base}
RUN echo "$(ulimit -Sn) $(ulimit -Hn)" > /nofile
`,
  },
  'scratch-etc': {
    about: 'a RUN in an image without /etc still has /etc/hosts and /etc/resolv.conf',
    known: {
      'fs:/*:only-buildkit':
        'mount points a step needed are not left in kiln’s layer, as BuildKit since v0.11 (moby/buildkit#3307); 20.10’s leaves /etc (and its three files), /dev, /proc and /sys',
    },
    dockerfile: ({ base }) => `FROM ${base} AS bb
FROM scratch
COPY --from=bb /bin/busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox grep -c localhost /etc/hosts > /hosts-lines && /bin/busybox test -f /etc/resolv.conf && echo yes > /resolv"]
`,
  },
  'instruction-edges': {
    about:
      'ENV with an empty value, WORKDIR with a trailing slash and dot-dot, VOLUME from a variable, USER root:root',
    known: {
      history: 'kiln cleans the WORKDIR path in its history text too (see config.WorkingDir)',
      'config.WorkingDir':
        'kiln cleans an absolute WORKDIR (/b); BuildKit 20.10 keeps it as written (/a/../b/)',
      'fs:/a:only-buildkit': 'and BuildKit 20.10 makes /a on the way',
    },
    dockerfile: ({ base }) => `FROM ${base}
ENV EMPTY= V=/vol
WORKDIR /a/../b/
VOLUME $V
USER root:root
RUN pwd > /pwd && echo "[$EMPTY]" > /empty
`,
  },
  'onbuild-copy': {
    about: 'an ONBUILD COPY of a parent image runs with the child’s context (parent pushed first)',
    files: COMMON,
    dockerfile: ({ base }) => `FROM ${base} AS parent
ONBUILD COPY f.txt /from-child-context
ONBUILD RUN echo triggered > /triggered
FROM parent
RUN ls /from-child-context /triggered > /seen
`,
  },
  'archive-links': {
    about: 'ADD of a tar holding hard links, relative and absolute symlinks and an empty directory',
    files: {
      't.tar': {
        tar: {
          'd/file': 'content\n',
          'd/hard': { hardlink: 'd/file' },
          'd/rel': { symlink: 'file' },
          'd/abs': { symlink: '/etc/passwd' },
          'd/empty/': { dir: true },
        },
      },
      'emptydir/': { dir: true },
    },
    dockerfile: ({ base }) => `FROM ${base}
ADD t.tar /t/
COPY emptydir /e/
COPY . /ctx/
`,
  },
  'copy-dir-onto-file': {
    about: 'a directory copied onto a file is refused',
    expectFailure: true,
    files: COMMON,
    dockerfile: ({ base }) => `FROM ${base}
RUN touch /x
COPY dir /x
`,
  },
  'missing-source': {
    about: 'a COPY source that does not exist is refused',
    expectFailure: true,
    dockerfile: ({ base }) => `FROM ${base}
COPY nope /x
`,
  },
  'debian-apt': {
    about:
      'apt-get install from the Debian mirror (host network): packages with file capabilities and setuid programs, apt’s sandbox user',
    needs: 'debian',
    args: ['--network', 'host'],
    dockerfile: ({ debian }) => `FROM ${debian}
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends iputils-ping sudo >/dev/null \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
RUN getcap /usr/bin/ping > /caps 2>&1 || echo "no getcap" > /caps
`,
    known: {
      'fs:/var/log/*': 'apt’s and dpkg’s logs hold the time of the build',
      'fs:/var/cache/ldconfig/aux-cache:*': 'ldconfig’s cache records file times',
    },
  },
  'debian-merged-usr': {
    about: 'COPY into /bin/ on a merged-/usr Debian; useradd and USER by name',
    needs: 'debian',
    files: COMMON,
    dockerfile: ({ debian }) => `FROM ${debian}
COPY run.sh /bin/
RUN useradd -m -u 1001 dev && ls -l /bin/run.sh > /listing
USER dev
WORKDIR /home/dev/work
RUN id > id && touch made
`,
  },
};
