import type { Kysely } from 'kysely';
import { catalogQuery, isoTime } from './catalog-query.js';
import type { Extension, Server } from './snapshot.js';

interface ServerRow {
  version: string;
  version_num: number;
  database: string;
  current_user: string;
  in_recovery: boolean;
  started_at: Date;
  stats_reset: Date | null;
  blks_hit: number;
  blks_read: number;
  app_search_path: string;
  frozen_xid_age: number;
  min_mxid_age: number;
}

interface HolderRow {
  kind: 'session' | 'prepared transaction' | 'replication slot';
  name: string;
  xid_age: number;
  since: Date | null;
}

// Sessions (of any database: the horizon is cluster-wide), prepared transactions and
// replication slots that keep VACUUM from freezing or removing rows, oldest first.
const HORIZON_SQL = `
  SELECT * FROM (
    SELECT 'session' AS kind, pid::text AS name, greatest(age(backend_xid), age(backend_xmin)) AS xid_age, xact_start AS since
    FROM pg_stat_activity WHERE (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL) AND pid <> pg_backend_pid()
    UNION ALL
    SELECT 'prepared transaction', gid, age(transaction), prepared FROM pg_prepared_xacts
    UNION ALL
    SELECT 'replication slot', slot_name::text, greatest(age(xmin), age(catalog_xmin)), NULL FROM pg_replication_slots
    WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL
  ) h ORDER BY xid_age DESC LIMIT 10`

interface SettingRow {
  name: string;
  setting: string;
}

// Settings that can hold connection strings, passwords or shell commands with secrets.
const SECRET_SETTING = /conninfo|passphrase|password|_command$/;

/** Server identity, settings and extensions: three queries. */
export async function collectServer(db: Kysely<unknown>): Promise<Server> {
  const rows = await catalogQuery<ServerRow>(db, `
      SELECT current_setting('server_version') AS version,
             current_setting('server_version_num')::int AS version_num,
             current_database() AS database, current_user AS current_user,
             pg_is_in_recovery() AS in_recovery, pg_postmaster_start_time() AS started_at,
             d.stats_reset, d.blks_hit::float8 AS blks_hit, d.blks_read::float8 AS blks_read,
             coalesce((SELECT substr(c, length('search_path=') + 1)
                       FROM pg_db_role_setting r, unnest(r.setconfig) c
                       WHERE r.setdatabase = d.datid AND r.setrole = 0 AND c LIKE 'search_path=%'),
                      (SELECT boot_val FROM pg_settings WHERE name = 'search_path')) AS app_search_path,
             (SELECT age(datfrozenxid) FROM pg_database WHERE oid = d.datid) AS frozen_xid_age,
             (SELECT mxid_age(datminmxid) FROM pg_database WHERE oid = d.datid) AS min_mxid_age
      FROM pg_stat_database d WHERE d.datname = current_database()`);
  const holders = await catalogQuery<HolderRow>(db, HORIZON_SQL);
  const settingRows = await catalogQuery<SettingRow>(db, `SELECT name, setting FROM pg_settings`);
  const extensions = await catalogQuery<Extension>(db, `
      SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace`);
  const row = rows[0];
  if (!row) throw new Error('server query returned no row');
  const settings = Object.fromEntries(
    settingRows.map(({ name, setting }) => [name, SECRET_SETTING.test(name) && setting !== '' ? '[redacted]' : setting]),
  );
  // perfaudit's own session runs with search_path=pg_catalog; rules resolving the
  // application's unqualified names need the database's default instead.
  settings.search_path = row.app_search_path;
  return {
    version: row.version,
    versionNum: row.version_num,
    database: row.database,
    currentUser: row.current_user,
    inRecovery: row.in_recovery,
    startedAt: isoTime(row.started_at) ?? '',
    statsResetAt: isoTime(row.stats_reset),
    settings,
    extensions,
    blockSize: Number(settings.block_size ?? 8192),
    databaseBlocks: { hit: row.blks_hit, read: row.blks_read },
    databaseFrozenXidAge: row.frozen_xid_age,
    databaseMinMultiXactAge: row.min_mxid_age,
    horizonHolders: holders.map((holder) => ({ kind: holder.kind, name: holder.name, xidAge: holder.xid_age, since: isoTime(holder.since) })),
  };
}
