import { baselineEntries } from '../report/baseline.js';
import { renderBaseline } from '../report/baseline-file.js';
import { plural } from '../report/describe.js';
import { emit } from './output.js';
import { runScan, type ScanInput } from './run-scan.js';

export interface BaselineOptions extends ScanInput {
  readonly output: string;
}

/**
 * `perfaudit baseline`: records today's findings by fingerprint, so `scan --baseline FILE`
 * gates CI on new findings only. Taking it twice on an unchanged database writes the same bytes.
 */
export async function baselineCommand(options: BaselineOptions): Promise<number> {
  const { report } = await runScan(options);
  const entries = baselineEntries(report.findings);
  await emit(renderBaseline(entries), options.output);
  const skipped = report.skipped.length ? ` (${plural(report.skipped.length, 'rule', 'rules')} skipped: ${report.skipped.map((skip) => skip.rule).join(', ')})` : '';
  process.stderr.write(`wrote ${options.output}: ${plural(entries.length, 'known finding', 'known findings')}${skipped}\n`);
  return 0;
}
