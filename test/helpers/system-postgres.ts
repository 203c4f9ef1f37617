import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { freePort } from '../../src/embedded/server.js';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The machine's own PostgreSQL 15 (Debian's postgresql-15), for tests that need an
 * extension the embedded PostgreSQL 18 lacks: hypopg comes from Debian's
 * postgresql-15-hypopg, which `.ci/run` installs.
 */
export const PG15_BIN = '/usr/lib/postgresql/15/bin';
export const PG15_EXTENSIONS = '/usr/share/postgresql/15/extension';

export interface SystemPostgres {
  readonly port: number;
  readonly password: string;
  /** Connection URL for a database on this server (as the superuser `postgres`). */
  url(database?: string): string;
  stop(): Promise<void>;
}

/**
 * Fails with an actionable message when the PostgreSQL 15 binaries or the named
 * extensions are missing: the tests that use this server must fail, not skip, since
 * CI installs everything they need.
 */
export function requireSystemPostgres(extensions: readonly string[] = []): void {
  const missing: string[] = [];
  if (!existsSync(join(PG15_BIN, 'postgres'))) missing.push(`PostgreSQL 15 binaries (${PG15_BIN}/postgres; apt-get install postgresql-15)`);
  for (const name of extensions) {
    if (!existsSync(join(PG15_EXTENSIONS, `${name}.control`))) {
      missing.push(`the ${name} extension for PostgreSQL 15 (${PG15_EXTENSIONS}/${name}.control; apt-get install postgresql-15-${name})`);
    }
  }
  if (missing.length > 0) throw new Error(`missing on this machine: ${missing.join('; ')} — .ci/run installs these`);
}

/**
 * Starts a throw-away PostgreSQL 15 in a fresh temporary directory: loopback TCP only
 * (no unix socket), scram password auth with a random password, pg_stat_statements
 * preloaded, fsync off. As root it runs initdb and the server as the unprivileged
 * `postgres` user (PostgreSQL refuses root), so the directory is chowned to it.
 */
export async function startSystemPostgres(): Promise<SystemPostgres> {
  requireSystemPostgres();
  const root = await mkdtemp(join(tmpdir(), 'perfaudit-pg15-'));
  const data = join(root, 'data');
  const logFile = join(root, 'server.log');
  const pwfile = join(root, 'pwfile');
  const password = randomBytes(12).toString('hex');
  const asRoot = userInfo().uid === 0;
  const owner = asRoot ? await postgresIds() : undefined;
  // As the postgres user: uid/gid switch, and a HOME it may read.
  const as = owner ? { uid: owner.uid, gid: owner.gid, env: { ...process.env, HOME: root } } : {};
  const pg = (program: string, args: string[]) => run(join(PG15_BIN, program), args, { ...as, timeout: 60_000 });

  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) {
    await chown(root, owner.uid, owner.gid);
    await chown(pwfile, owner.uid, owner.gid);
  }
  const port = await freePort();
  try {
    await pg('initdb', ['-D', data, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync']);
    await rm(pwfile, { force: true });
    // Settings go into postgresql.conf rather than through pg_ctl -o, which would need shell quoting.
    await appendFile(data + '/postgresql.conf', [
      '',
      `port = ${port}`,
      `listen_addresses = '127.0.0.1'`,
      `unix_socket_directories = ''`,
      `shared_preload_libraries = 'pg_stat_statements'`,
      `pg_stat_statements.track = 'top'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      '',
    ].join('\n'));
    await pg('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', 'start']);
  } catch (error) {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    await rm(root, { recursive: true, force: true });
    const detail = `${(error as Error).message}\n${log.trim().split('\n').slice(-5).join('\n')}`.trim();
    throw new Error(`could not start PostgreSQL 15 from ${PG15_BIN}: ${detail}`);
  }
  return {
    port,
    password,
    url: (database = 'postgres') => `postgres://postgres:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    async stop() {
      await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    throw new Error('running as root, but there is no `postgres` user to run PostgreSQL as (Debian\'s postgresql-15 package creates it)');
  }
}
