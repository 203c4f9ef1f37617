import { Command, CommanderError, Option } from 'commander';
import { applyCommand } from './commands/apply.js';
import { baselineCommand } from './commands/baseline.js';
import { CHECK_FORMATS, checkMigrationsCommand, type CheckMigrationsOptions } from './commands/check-migrations.js';
import { demoCommand } from './commands/demo.js';
import { PLAN_FORMATS, planCommand } from './commands/plan.js';
import { MIGRATION_TOOLS } from './plan/migration.js';
import { rulesCommand } from './commands/rules.js';
import { FAIL_ON_LEVELS, SCAN_FORMATS, scanCommand, type ScanOptions } from './commands/scan.js';
import { snapshotCommand } from './commands/snapshot.js';
import { UsageError } from './errors.js';
import { TOOL_VERSION } from './report/report.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Builds the commander program; wiring only, every command lives in src/commands. */
function program(setExit: (code: number) => void): Command {
  const color = !process.env.NO_COLOR && process.stdout.isTTY === true;
  const cli = new Command('perfaudit')
    .description('PostgreSQL performance auditor: finds index, query and maintenance problems and the SQL that fixes them')
    .version(TOOL_VERSION)
    .option('--no-color', 'disable colors (NO_COLOR is honoured too)')
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
  const run = (work: () => Promise<number>) => async () => setExit(await work());

  cli.command('scan')
    .description('collect the catalog and statistics, run the rules, print the findings')
    .option('-d, --dbname <conn>', 'connection URL or libpq keyword string (default: DATABASE_URL, then PG* variables)')
    .addOption(new Option('--format <format>', 'output format').choices(SCAN_FORMATS).default('text'))
    .option('--output <file>', 'write the report to a file instead of stdout')
    .option('--config <file>', 'configuration file (default: .perfaudit.yml if present)')
    .option('--rules <ids>', 'only these rules (comma-separated)', collect)
    .option('--exclude-rules <ids>', 'not these rules (comma-separated)', collect)
    .option('--schema <name>', 'only findings in this schema (repeatable)', collect)
    .addOption(new Option('--fail-on <level>', 'exit 1 when a finding is at or above this level (default warning)').choices(FAIL_ON_LEVELS))
    .option('--snapshot <file>', 'scan a snapshot file offline instead of a database')
    .option('--baseline <file>', 'report only findings not in this baseline file (see perfaudit baseline)')
    .option('--sample <duration>', 'analyse the workload over a window (e.g. 60s) instead of since the last reset')
    .option('--exact', 'measure table and index bloat with pgstattuple (when installed) instead of estimating it')
    .action(function (this: Command) {
      const options = this.opts<Omit<ScanOptions, 'color'>>();
      return run(() => scanCommand({ ...options, color: color && cli.opts<{ color: boolean }>().color }))();
    });

  cli.command('baseline')
    .description('record the current findings in a file, so `scan --baseline FILE` reports only new ones')
    .option('-d, --dbname <conn>', 'connection URL or libpq keyword string')
    .requiredOption('--output <file>', 'baseline file to write (commit it)')
    .option('--config <file>', 'configuration file (default: .perfaudit.yml if present)')
    .option('--rules <ids>', 'only these rules (comma-separated)', collect)
    .option('--exclude-rules <ids>', 'not these rules (comma-separated)', collect)
    .option('--schema <name>', 'only findings in this schema (repeatable)', collect)
    .action(function (this: Command) {
      return run(() => baselineCommand(this.opts()))();
    });

  cli.command('plan')
    .description('the fix actions of a scan as one ordered migration (writes nothing to the database)')
    .option('-d, --dbname <conn>', 'connection URL or libpq keyword string')
    .option('--only <ids>', 'only the actions of these rules (comma-separated)', collect)
    .addOption(new Option('--format <format>', 'output format').choices(PLAN_FORMATS).default('sql'))
    .option('--output <file>', 'write the plan to a file instead of stdout (a directory for golang-migrate)')
    .addOption(new Option('--migration-tool <tool>', 'write the plan as a migration for this tool').choices(MIGRATION_TOOLS).default('plain'))
    .option('--config <file>', 'configuration file (default: .perfaudit.yml if present)')
    .option('--snapshot <file>', 'plan from a snapshot file instead of a database')
    .option('--exact', 'measure bloat with pgstattuple where installed')
    .action(function (this: Command) {
      return run(() => planCommand(this.opts()))();
    });

  cli.command('apply')
    .description('run the safe fix actions of a fresh scan: index builds and drops, VACUUM, ANALYZE (one statement at a time, with retries)')
    .option('-d, --dbname <conn>', 'connection URL or libpq keyword string')
    .option('--only <ids>', 'only the actions of these rules (comma-separated; unused-index drops need it)', collect)
    .option('--yes', 'run without asking (required without a terminal)')
    .option('--dry-run', 'print the statements it would run, and run none')
    .option('--lock-timeout <duration>', 'lock_timeout per statement', '5s')
    .option('--max-retries <n>', 'retries after a lock timeout, with growing back-off', '5')
    .option('--log <file>', 'write a JSON line per statement: timing and outcome')
    .option('--config <file>', 'configuration file (default: .perfaudit.yml if present)')
    .action(function (this: Command) {
      return run(() => applyCommand(this.opts()))();
    });

  cli.command('check-migrations')
    .description('apply migrations to an embedded PostgreSQL and report the lock hazards and schema problems of the new ones')
    .argument('<paths...>', 'migration files or directories (a directory\'s .sql files in version order)')
    .option('--since <file>', 'the last migration already deployed: it and earlier ones are applied but not checked')
    .option('--server <url>', 'create the scratch database on this server (postgres:// URL, CREATEDB) instead of an embedded one')
    .option('--baseline <file>', 'report only findings this baseline file does not know')
    .option('--write-baseline <file>', 'record the findings as a baseline file instead of reporting them')
    .addOption(new Option('--format <format>', 'output format').choices(CHECK_FORMATS).default('text'))
    .option('--output <file>', 'write the report to a file instead of stdout')
    .option('--config <file>', 'configuration file (default: .perfaudit.yml if present)')
    .option('--rules <ids>', 'only these rules (comma-separated)', collect)
    .option('--exclude-rules <ids>', 'not these rules (comma-separated)', collect)
    .addOption(new Option('--fail-on <level>', 'exit 1 when a finding is at or above this level (default warning)').choices(FAIL_ON_LEVELS))
    .action(function (this: Command, paths: string[]) {
      const options = this.opts<Omit<CheckMigrationsOptions, 'color'>>();
      return run(() => checkMigrationsCommand(paths, { ...options, color: color && cli.opts<{ color: boolean }>().color }))();
    });

  cli.command('snapshot')
    .description('write the collected snapshot to a JSON file, for `scan --snapshot`')
    .option('-d, --dbname <conn>', 'connection URL or libpq keyword string')
    .requiredOption('--output <file>', 'snapshot file to write')
    .action(function (this: Command) {
      return run(() => snapshotCommand(this.opts()))();
    });

  cli.command('rules')
    .description('list the rules, or print one rule\'s docs')
    .argument('[id]', 'rule id')
    .action((id: string | undefined) => run(() => rulesCommand(id))());

  cli.command('demo')
    .description('start an embedded PostgreSQL with a demo database and workload, scan it, print the report')
    .addOption(new Option('--format <format>', 'output format').choices(SCAN_FORMATS).default('text'))
    .action(function (this: Command) {
      const { format } = this.opts<{ format: ScanOptions['format'] }>();
      return run(() => demoCommand({ format, color: color && cli.opts<{ color: boolean }>().color }))();
    });
  return cli;
}

/**
 * Runs the CLI and returns the exit code: 0 clean, 1 findings at or above --fail-on,
 * 2 usage, configuration or connection error (one line on stderr, never a stack trace).
 */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  try {
    await program((code) => (exitCode = code)).parseAsync([...argv]);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      process.stderr.write(`perfaudit: ${error.message.replace(/^error: /, '')}\n`);
      return 2;
    }
    const message = error instanceof UsageError ? error.message : `internal error: ${(error as Error)?.message ?? String(error)}`;
    process.stderr.write(`perfaudit: ${message.split('\n')[0]}\n`);
    if (process.env.PERFAUDIT_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return 2;
  }
}
