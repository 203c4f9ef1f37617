import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import type { Baseline, BaselineEntry } from './baseline.js';

/** The baseline file format this perfaudit writes and reads; a newer one is refused. */
export const BASELINE_FORMAT = 1;

/**
 * The baseline file: sorted entries, 2-space JSON, a trailing newline and nothing
 * volatile (no time, no database name, no measured value), so taking it twice on an
 * unchanged database gives the same bytes and a diff shows exactly what changed.
 */
export function renderBaseline(entries: readonly BaselineEntry[]): string {
  return `${JSON.stringify({ perfauditBaseline: BASELINE_FORMAT, findings: entries }, null, 2)}\n`;
}

/** Reads a baseline file; any problem is one UsageError line naming the file. */
export async function readBaseline(file: string): Promise<Baseline> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read baseline ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return parseBaseline(text, file);
}

export function parseBaseline(text: string, file: string): Baseline {
  const data = parseJson(text.replace(/^\uFEFF/, ''), file);
  const fail = (message: string): never => {
    throw new UsageError(`${file}: ${message}`);
  };
  if (!isRecord(data) || !('perfauditBaseline' in data)) fail('not a perfaudit baseline (no "perfauditBaseline" format; write one with perfaudit baseline)');
  const { perfauditBaseline: format, findings } = data as Record<string, unknown>;
  if (!Number.isInteger(format) || (format as number) < 1) fail('"perfauditBaseline" must be the format number (1)');
  if ((format as number) > BASELINE_FORMAT) {
    fail(`baseline format ${String(format)} is newer than this perfaudit reads (${BASELINE_FORMAT}); upgrade perfaudit`);
  }
  if (!Array.isArray(findings)) return fail('"findings" must be a list');
  return { file, entries: findings.map((entry: unknown, index) => toEntry(entry) ?? fail(`findings[${index}] needs a "rule" and a "fingerprint" (40 hex digits)`)) };
}

function toEntry(value: unknown): BaselineEntry | null {
  if (!isRecord(value) || typeof value.rule !== 'string' || typeof value.fingerprint !== 'string') return null;
  if (!/^[0-9a-f]{40}$/.test(value.fingerprint)) return null;
  const text = (key: string) => (typeof value[key] === 'string' ? { [key]: value[key] as string } : {});
  const columns = Array.isArray(value.columns) ? { columns: value.columns.map(String) } : {};
  return {
    rule: value.rule,
    object: typeof value.object === 'string' ? value.object : '',
    ...text('schema'),
    ...columns,
    ...text('query'),
    ...text('file'),
    fingerprint: value.fingerprint,
  };
}

/** JSON.parse with the error's line (V8 gives a character position, when it gives one). */
function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message)?.[1];
    const end = message.startsWith('Unexpected end') ? text.length : undefined;
    const offset = position === undefined ? end : Number(position);
    const where = offset === undefined ? '' : `:${text.slice(0, offset).split('\n').length}`;
    throw new UsageError(`${file}${where}: invalid JSON: ${jsonReason(message)}`);
  }
}

// "Unexpected token 'x', "…snippet…" is not valid JSON" quotes the file, newlines and all:
// keep the token, shown as a JSON string so a newline stays on the one error line.
function jsonReason(message: string): string {
  const token = /^Unexpected token '([\s\S])', [\s\S]* is not valid JSON$/.exec(message)?.[1];
  if (token !== undefined) return `Unexpected token ${JSON.stringify(token)}`;
  return message.replace(/\s*in JSON at position \d+.*$/s, '').replace(/\s*\(line \d+ column \d+\)$/, '');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
