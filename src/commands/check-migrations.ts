import type { FailOn } from '../config/load.js';
import { checkMigrations, type CheckMigrationsInput } from '../migrate/check.js';
import { emit, idList, progress } from './output.js';
import { exitCode, render, type ScanFormat } from './scan.js';

export interface CheckMigrationsOptions {
  readonly since?: string;
  readonly server?: string;
  readonly config?: string;
  readonly rules?: string[];
  readonly excludeRules?: string[];
  readonly format: ScanFormat;
  readonly output?: string;
  readonly failOn?: FailOn;
  readonly color: boolean;
}

/**
 * `perfaudit check-migrations PATH…`: applies the migrations to an embedded PostgreSQL
 * and reports the lock hazards and schema problems the new ones bring, at file and line.
 */
export async function checkMigrationsCommand(paths: readonly string[], options: CheckMigrationsOptions): Promise<number> {
  const spinner = progress(`applying the migrations to ${options.server ? 'a scratch database' : 'an embedded PostgreSQL'}`);
  const input: CheckMigrationsInput = {
    paths,
    since: options.since,
    server: options.server,
    config: options.config,
    rules: idList(options.rules),
    excludeRules: idList(options.excludeRules),
  };
  const { report, failOn } = await checkMigrations(input).finally(() => spinner.done());
  await emit(render(report, options), options.output);
  return exitCode(report, options.failOn ?? failOn ?? 'warning');
}
