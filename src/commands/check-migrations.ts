import type { FailOn } from '../config/load.js';
import { checkMigrations } from '../migrate/check.js';
import { baselineEntries } from '../report/baseline.js';
import { readBaseline, renderBaseline } from '../report/baseline-file.js';
import { plural } from '../report/describe.js';
import { REPORT_FORMATS, renderReport } from '../report/render.js';
import { withBaseline } from '../report/report.js';
import { emit, idList, progress } from './output.js';
import { exitCode } from './scan.js';

/** check-migrations prints findings; a fix script (`sql`) belongs to a database scan. */
export const CHECK_FORMATS = REPORT_FORMATS.filter((format) => format !== 'sql');

export interface CheckMigrationsOptions {
  readonly since?: string;
  readonly server?: string;
  readonly baseline?: string;
  readonly writeBaseline?: string;
  readonly config?: string;
  readonly rules?: string[];
  readonly excludeRules?: string[];
  readonly format: (typeof CHECK_FORMATS)[number];
  readonly output?: string;
  readonly failOn?: FailOn;
  readonly color: boolean;
}

/**
 * `perfaudit check-migrations PATH…`: applies the migrations to a scratch database and
 * reports the lock hazards and schema problems the new ones bring, at file and line.
 */
export async function checkMigrationsCommand(paths: readonly string[], options: CheckMigrationsOptions): Promise<number> {
  const baseline = options.baseline === undefined ? undefined : await readBaseline(options.baseline);
  const spinner = progress(`applying the migrations to ${options.server ? 'a scratch database' : 'an embedded PostgreSQL'}`);
  const check = await checkMigrations({
    paths,
    since: options.since,
    server: options.server,
    config: options.config,
    rules: idList(options.rules),
    excludeRules: idList(options.excludeRules),
  }).finally(() => spinner.done());
  if (options.writeBaseline) {
    const entries = baselineEntries(check.report.findings);
    await emit(renderBaseline(entries), options.writeBaseline);
    process.stderr.write(`wrote ${options.writeBaseline}: ${plural(entries.length, 'known finding', 'known findings')}\n`);
    return 0;
  }
  const report = baseline ? withBaseline(check.report, baseline, { rules: check.checked, files: check.files }) : check.report;
  await emit(renderReport(report, options.format, { color: options.color && !options.output, rules: check.rules }), options.output);
  return exitCode(report, options.failOn ?? check.failOn ?? 'warning');
}
