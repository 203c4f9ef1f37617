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
}

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
                      (SELECT boot_val FROM pg_settings WHERE name = 'search_path')) AS app_search_path
      FROM pg_stat_database d WHERE d.datname = current_database()`);
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
  };
}
