import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { BuilderError } from '../../builder-error.js';
import { parseOutputSpec } from '../../outputs/output-spec.js';
import { parseCacheExportSpec, parseCacheImportSpec } from '../../cache/cache-spec.js';
import { buildMetadata } from '../../outputs/build-metadata.js';
import { buildProgress, PROGRESS_MODES, type ProgressMode } from '../build-progress.js';
import type { CliIo } from '../cli-io.js';
import { combineReporters } from '../../progress/combine-reporters.js';
import { layerStepNoter } from '../code-cache-note.js';
import { ExplainSummary } from '../explain-summary.js';
import { parseAddHost } from '../parse-add-host.js';
import { parseUlimits } from '../parse-ulimit.js';
import { parseSsh } from '../parse-ssh.js';
import { sourceDateEpochOf } from '../source-date-epoch.js';
import { openSshAgents, stepSettings } from '../step-settings.js';

/** Repeatable flags (`-t a -t b`) as a list; unlike yargs' `array`, they never swallow the positional CONTEXT. */
function repeated(value: string | string[]): string[] {
  return Array.isArray(value) ? value : [value];
}

/** `--secret id=ID,src=PATH` (also `source=`, and `id` alone meaning a file named like the id). */
function parseSecrets(specs: readonly string[]): Map<string, string> {
  const secrets = new Map<string, string>();
  for (const spec of specs) {
    const fields = new Map<string, string>();
    for (const f of spec.split(',')) {
      const eq = f.indexOf('=');
      fields.set(eq < 0 ? f : f.slice(0, eq), eq < 0 ? '' : f.slice(eq + 1));
    }
    const id = fields.get('id');
    const src = fields.get('src') ?? fields.get('source') ?? id;
    if (!id || !src)
      throw new BuilderError('INVALID_BUILD_ARG', `invalid --secret "${spec}": expected id=ID,src=PATH`);
    secrets.set(id, resolve(src));
  }
  return secrets;
}

/** `--label K=V` (a value may be empty; a key may not). */
function parseLabels(specs: readonly string[]): Map<string, string> {
  const labels = new Map<string, string>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new BuilderError('INVALID_ARGUMENT', `invalid --label "${spec}": expected KEY=VALUE`);
    labels.set(spec.slice(0, eq), spec.slice(eq + 1));
  }
  return labels;
}

export function buildCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'build <context>',
    'build an image from a Dockerfile',
    (y) =>
      y
        .positional('context', { type: 'string', demandOption: true, describe: 'build context directory' })
        .option('file', {
          alias: 'f',
          type: 'string',
          requiresArg: true,
          describe: 'Dockerfile (default: CONTEXT/Dockerfile)',
        })
        .option('tag', {
          alias: 't',
          type: 'string',
          requiresArg: true,
          default: [] as string[],
          coerce: repeated,
          describe: 'name[:tag]',
        })
        .option('build-arg', {
          type: 'string',
          requiresArg: true,
          default: [] as string[],
          coerce: repeated,
          describe: 'K=V',
        })
        .option('cache', {
          type: 'boolean',
          default: true,
          describe: 'use the step cache (--no-cache: rebuild every step)',
        })
        .option('progress', {
          choices: PROGRESS_MODES,
          default: 'auto' as ProgressMode,
          describe: 'auto (tty on a terminal, else plain), tty, plain, rawjson (JSON lines) or quiet',
        })
        .option('log-file', {
          type: 'string',
          requiresArg: true,
          describe: 'write the full output of every step (prefixed #STEP) to this file',
        })
        .option('iidfile', {
          type: 'string',
          requiresArg: true,
          describe: 'write the image id (config digest) to this file',
        })
        .option('metadata-file', {
          type: 'string',
          requiresArg: true,
          describe: 'write build metadata (digests, names) as JSON to this file',
        })
        .option('label', {
          type: 'string',
          requiresArg: true,
          default: [] as string[],
          coerce: repeated,
          describe: 'K=V: a label for the image (repeatable)',
        })
        .option('quiet', {
          alias: 'q',
          type: 'boolean',
          default: false,
          describe: 'print only the image digest',
        })
        .option('output', {
          alias: 'o',
          type: 'string',
          // `-o -` (stdout): without nargs yargs takes a lone "-" for a positional.
          nargs: 1,
          default: [] as string[],
          coerce: repeated,
          describe:
            'type=oci|docker|local|tar,dest=PATH (oci: tar=false, name=REF; docker: name=REF); dest=- for stdout; type=registry[,name=REF] pushes',
        })
        .option('secret', {
          type: 'string',
          requiresArg: true,
          default: [] as string[],
          coerce: repeated,
          describe: 'id=ID,src=PATH: a secret for RUN --mount=type=secret',
        })
        .option('jobs', {
          alias: 'j',
          type: 'number',
          requiresArg: true,
          describe: 'stages built at the same time (default: cores)',
        })
        .option('cache-to', {
          type: 'string',
          requiresArg: true,
          default: [] as string[],
          coerce: repeated,
          describe:
            'export the build cache: type=registry,ref=REF | type=local,dest=DIR [,mode=min|max] | type=inline',
        })
        .option('cache-from', {
          type: 'string',
          requiresArg: true,
          default: [] as string[],
          coerce: repeated,
          describe: 'import a build cache: type=registry,ref=REF | type=local,src=DIR (repeatable)',
        })
        .option('target', { type: 'string', requiresArg: true, describe: 'stage to build' })
        .option('platform', {
          type: 'string',
          requiresArg: true,
          default: [] as string[],
          coerce: repeated,
          describe: "target platform, os/arch[/variant]: this machine's only (RUN steps run natively)",
        })
        .option('explain', {
          type: 'boolean',
          default: false,
          describe: 'after the build, list every step that missed the cache and why',
        })
        .option('squash', {
          type: 'boolean',
          default: false,
          describe: "squash the final stage's new layers into one (base layers kept)",
        })
        .option('pull', {
          type: 'boolean',
          default: false,
          describe: 'always ask the registry for FROM images named by tag (newer ones are pulled)',
        })
        .option('push', {
          type: 'boolean',
          default: false,
          describe: 'push the image to its registry under every -t name (same as -o type=registry)',
        })
        .option('add-host', {
          type: 'string',
          requiresArg: true,
          default: [] as string[],
          coerce: repeated,
          describe: "HOST:IP: a line in every RUN step's /etc/hosts (repeatable)",
        })
        .option('ulimit', {
          type: 'string',
          requiresArg: true,
          default: [] as string[],
          coerce: repeated,
          describe:
            'NAME=SOFT[:HARD]: a resource limit of every RUN step, e.g. nofile=1024:4096 (repeatable)',
        })
        .option('network', {
          choices: ['host', 'none'] as const,
          default: 'host' as const,
          describe: 'network of RUN steps',
        })
        .option('ssh', {
          type: 'string',
          requiresArg: true,
          default: [] as string[],
          coerce: repeated,
          describe: 'ID[=SOCKET|KEY[,KEY]]: an ssh agent for RUN --mount=type=ssh (default: $SSH_AUTH_SOCK)',
        })
        .option('memory', {
          type: 'string',
          requiresArg: true,
          describe: 'memory limit of each RUN step, e.g. 512m (cgroups)',
        })
        .option('pids-limit', {
          type: 'number',
          requiresArg: true,
          describe: 'processes each RUN step may have at once (cgroups)',
        })
        .option('cpus', {
          type: 'number',
          requiresArg: true,
          describe: 'CPU cores each RUN step may use, e.g. 1.5 (cgroups)',
        })
        .option('step-timeout', {
          type: 'string',
          requiresArg: true,
          describe: 'time each RUN step may take, e.g. 10m, 90s',
        }),
    async (argv) => {
      const contextDir = resolve(argv.context);
      const dockerfile = resolve(argv.file ?? join(contextDir, 'Dockerfile'));
      io.dockerfileForErrors = dockerfile;
      const buildArgs = new Map<string, string>();
      for (const kv of argv['build-arg']) {
        const eq = kv.indexOf('=');
        if (eq > 0) buildArgs.set(kv.slice(0, eq), kv.slice(eq + 1));
        else if (process.env[kv] !== undefined) buildArgs.set(kv, process.env[kv] as string);
        else if (eq === 0) throw new BuilderError('INVALID_BUILD_ARG', `invalid --build-arg "${kv}"`);
      }
      const outputs = argv.output.map(parseOutputSpec);
      if (argv.push && !outputs.some((o) => o.type === 'registry')) outputs.push({ type: 'registry' });
      const logFile = argv['log-file'] === undefined ? undefined : resolve(argv['log-file']);
      const progress = buildProgress(argv.quiet ? 'quiet' : argv.progress, io, logFile);
      const summary = new ExplainSummary();
      // Loaded here, not at the top: `kiln --help` and the other commands need none of it.
      const { build } = await import('../../build.js');
      const steps = stepSettings({
        memory: argv.memory,
        pidsLimit: argv['pids-limit'],
        cpus: argv.cpus,
        stepTimeout: argv['step-timeout'],
      });
      const ssh = await openSshAgents(parseSsh(argv.ssh, process.env));
      const building = build(
        {
          root: argv.root,
          contextDir,
          dockerfile,
          tags: argv.tag,
          buildArgs,
          noCache: !argv.cache,
          outputs,
          labels: parseLabels(argv.label),
          target: argv.target,
          platforms: argv.platform,
          jobs: argv.jobs,
          secrets: parseSecrets(argv.secret),
          ssh: ssh.agents,
          ...steps,
          cacheTo: argv['cache-to'].map(parseCacheExportSpec),
          cacheFrom: argv['cache-from'].map(parseCacheImportSpec),
          network: argv.network,
          extraHosts: argv['add-host'].map(parseAddHost),
          rlimits: parseUlimits(argv.ulimit),
          squash: argv.squash,
          pull: argv.pull,
          insecureRegistries: io.insecureRegistries,
          registryCaFiles: io.registryCaFiles,
          sourceDateEpoch: sourceDateEpochOf(process.env),
        },
        {
          reporter: combineReporters(progress.reporter, ...(argv.explain ? [summary] : []), layerStepNoter()),
          signal: io.signal,
          // Only an output to stdout takes the stream (see processOutput).
          ...(outputs.some((o) => o.dest === '-') ? { stdout: io.stdoutStream } : {}),
          warn: (message) => io.stderr(`warning: ${message}\n`),
          onPushed: (ref, digest) => {
            if (!argv.quiet && argv.progress !== 'quiet') io.stderr(`pushed ${ref}@${digest}\n`);
          },
        },
      );
      const result = await building
        .finally(() => ssh.close())
        .finally(() => {
          progress.finish();
          if (argv.explain) io.stderr(summary.render());
        })
        .catch((err: unknown) => {
          io.failedStep = { text: progress.failedOutput(), logFile };
          throw err;
        });
      if (argv.iidfile !== undefined) await writeFile(argv.iidfile, result.image.manifest.config.digest);
      if (argv['metadata-file'] !== undefined)
        await writeFile(argv['metadata-file'], `${JSON.stringify(buildMetadata(result), null, 2)}\n`);
      if (!argv.quiet && argv.progress !== 'quiet') {
        for (const t of result.tags) io.stderr(`naming to ${t} done\n`);
      }
      // With an output on stdout, stdout is that output's alone.
      if (!outputs.some((o) => o.dest === '-')) io.stdout(`${result.manifestDigest}\n`);
    },
  );
}
