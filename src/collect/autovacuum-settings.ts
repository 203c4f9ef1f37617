/**
 * A table's effective autovacuum settings: server settings overridden by the table's own
 * reloptions, and the thresholds autovacuum compares its counters to, computed as
 * PostgreSQL's relation_needs_vacanalyze() does.
 */
import type { Server, Table } from './snapshot.js';

export interface AutovacuumThresholds {
  /** Autovacuum may process this table: the server setting and the table's reloption both allow it. */
  readonly enabled: boolean;
  /** Dead tuples above which autovacuum vacuums the table. */
  readonly vacuum: number;
  readonly vacuumBase: number;
  readonly vacuumScaleFactor: number;
  /** Modified tuples since the last ANALYZE above which autovacuum analyzes it. */
  readonly analyze: number;
  readonly analyzeBase: number;
  readonly analyzeScaleFactor: number;
  /** Inserted tuples since the last VACUUM above which autovacuum vacuums it; null when disabled (-1). */
  readonly insert: number | null;
  /** The reltuples figure the thresholds scale with (0 before the first VACUUM or ANALYZE). */
  readonly reltuples: number;
}

/** The value of one `name=value` reloption, or undefined when not set. */
export function reloption(options: readonly string[], name: string): string | undefined {
  const prefix = `${name}=`;
  const found = options.find((option) => option.startsWith(prefix));
  return found === undefined ? undefined : found.slice(prefix.length);
}

/** PostgreSQL's parse_bool: true/false, yes/no, on/off, 1/0 and their unique prefixes. */
export function parseBool(value: string): boolean | null {
  const text = value.trim().toLowerCase();
  if (text === '') return null;
  if (text === '1' || 'true'.startsWith(text) || 'yes'.startsWith(text) || (text.length >= 2 && 'on'.startsWith(text))) return true;
  if (text === '0' || 'false'.startsWith(text) || 'no'.startsWith(text) || (text.length >= 2 && 'off'.startsWith(text))) return false;
  return null;
}

/** False when a reloption list (a table's, or its TOAST table's) says autovacuum_enabled=false. */
export function autovacuumEnabledIn(options: readonly string[]): boolean {
  const value = reloption(options, 'autovacuum_enabled');
  return value === undefined || parseBool(value) !== false;
}

export function serverAutovacuumOn(server: Server): boolean {
  return parseBool(server.settings.autovacuum ?? 'on') !== false;
}

export function autovacuumThresholds(table: Table, server: Server): AutovacuumThresholds {
  const number = (name: string, fallback: number): number => {
    const own = reloption(table.reloptions, name);
    const ownValue = own === undefined ? Number.NaN : Number(own);
    // A per-table -1 (cost settings) or absent value falls back to the server's.
    if (Number.isFinite(ownValue) && ownValue >= 0) return ownValue;
    const setting = Number(server.settings[name]);
    return Number.isFinite(setting) ? setting : fallback;
  };
  const reltuples = Math.max(table.reltuples, 0);
  const vacuumBase = number('autovacuum_vacuum_threshold', 50);
  const vacuumScaleFactor = number('autovacuum_vacuum_scale_factor', 0.2);
  // PG18+: a cap on the vacuum threshold; -1 disables it. Absent on older servers.
  const ownMax = reloption(table.reloptions, 'autovacuum_vacuum_max_threshold');
  const max = Number(ownMax ?? server.settings.autovacuum_vacuum_max_threshold ?? -1);
  const scaled = vacuumBase + vacuumScaleFactor * reltuples;
  const vacuum = Number.isFinite(max) && max >= 0 ? Math.min(scaled, max) : scaled;
  const analyzeBase = number('autovacuum_analyze_threshold', 50);
  const analyzeScaleFactor = number('autovacuum_analyze_scale_factor', 0.1);
  const insertBase = Number(reloption(table.reloptions, 'autovacuum_vacuum_insert_threshold') ?? server.settings.autovacuum_vacuum_insert_threshold ?? 1000);
  const insertScale = number('autovacuum_vacuum_insert_scale_factor', 0.2);
  return {
    enabled: serverAutovacuumOn(server) && autovacuumEnabledIn(table.reloptions),
    vacuum,
    vacuumBase,
    vacuumScaleFactor,
    analyze: analyzeBase + analyzeScaleFactor * reltuples,
    analyzeBase,
    analyzeScaleFactor,
    insert: insertBase < 0 ? null : insertBase + insertScale * reltuples,
    reltuples,
  };
}
