import { collectSnapshot } from '../collect/collect.js';
import { sampleDifference } from '../collect/sample.js';
import type { Snapshot } from '../collect/snapshot.js';
import { resolveConnection } from '../connect/options.js';
import { openSession, SCAN_SESSION, type Session } from '../connect/session.js';
import { UsageError } from '../errors.js';
import { progress, type Progress } from './output.js';

export interface Collected {
  readonly snapshot: Snapshot;
  /** Statements the collection sent, for the constant-cost check and the benchmark. */
  readonly statements: number;
}

/**
 * Connects read-only, runs `work` with the session and a progress line, and disconnects.
 * Errors become one-line usage errors without the password.
 */
export async function withScanSession<T>(dbname: string | undefined, work: (session: Session, spinner: Progress) => Promise<T>): Promise<T> {
  const settings = resolveConnection(dbname);
  const spinner = progress(`connecting to ${settings.host}:${settings.port}/${settings.database}`);
  try {
    const session = await openSession(settings, SCAN_SESSION);
    try {
      return await work(session, spinner);
    } catch (error) {
      throw collectError(error, settings.password);
    } finally {
      await session.close().catch(() => undefined);
    }
  } finally {
    spinner.done();
  }
}

/**
 * Collects one snapshot. With `sampleMs`, collects twice that far apart and keeps the
 * difference (see sampleDifference).
 */
export async function collectWithSession(session: Session, spinner: Progress, sampleMs?: number): Promise<Collected> {
  spinner.update('collecting catalog and statistics');
  const first = await collectSnapshot(session);
  if (sampleMs === undefined) return { snapshot: first, statements: session.statementCount() };
  await countdown(sampleMs, (left) => spinner.update(`sampling the workload: ${Math.ceil(left / 1000)} s left`));
  const second = await collectSnapshot(session);
  return { snapshot: sampleDifference(first, second), statements: session.statementCount() };
}

/** Connects, collects one snapshot (see collectWithSession) and disconnects. */
export function collectFromDatabase(dbname: string | undefined, sampleMs?: number): Promise<Collected> {
  return withScanSession(dbname, (session, spinner) => collectWithSession(session, spinner, sampleMs));
}

async function countdown(ms: number, tick: (left: number) => void): Promise<void> {
  const end = Date.now() + ms;
  for (let left = ms; left > 0; left = end - Date.now()) {
    tick(left);
    await new Promise((resolve) => setTimeout(resolve, Math.min(left, 1000)));
  }
}

function collectError(error: unknown, password: string | undefined): Error {
  if (error instanceof UsageError) return error;
  const err = error as { code?: string; message?: string };
  const hint = err.code === '42501' ? ' (the role lacks a privilege; pg_monitor gives what perfaudit reads)'
    : err.code === '57014' ? ' (statement_timeout: the catalog read took longer than 30 s)'
    : err.code === '55P03' ? ' (lock_timeout: a catalog lock was held by another session)' : '';
  const message = `collecting the snapshot failed: ${err.message ?? String(error)}${hint}`;
  return new UsageError(password ? message.replaceAll(password, '…') : message);
}
