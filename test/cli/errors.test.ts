import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

/** A password every case carries somewhere (PGPASSWORD at least); no output may show it. */
const SECRET = 'pw-S3cret-never-shown';

interface Context {
  /** A directory of bad config and snapshot files. */
  readonly dir: string;
  /** The test server, as the superuser. */
  readonly server: URL;
  /** A port where a server accepts connections and never answers. */
  readonly silentPort: number;
}

interface BadInput {
  readonly name: string;
  readonly args: (context: Context) => string[];
  readonly env?: (context: Context) => Record<string, string>;
  /** The one line on stderr, without "perfaudit: " and the newline. */
  readonly stderr: (context: Context) => string;
}

const url = (server: URL, changes: { user?: string; password?: string; database?: string }) => {
  const changed = new URL(server);
  if (changes.user !== undefined) changed.username = changes.user;
  if (changes.password !== undefined) changed.password = changes.password;
  if (changes.database !== undefined) changed.pathname = `/${changes.database}`;
  return changed.toString();
};
const at = (server: URL, database: string, user = 'postgres') => `postgres://${user}@127.0.0.1:${server.port}/${database}`;

const CASES: readonly BadInput[] = [
  // Connections
  {
    name: 'refused port',
    args: () => ['scan', '-d', `postgres://u:${SECRET}@127.0.0.1:1/app`],
    stderr: () => 'could not connect to postgres://u@127.0.0.1:1/app: connection refused (is the server running on 127.0.0.1:1?)',
  },
  {
    name: 'unknown host',
    args: () => ['scan', '-d', `host=no-such-host.invalid dbname=app user=u password=${SECRET}`],
    stderr: () => 'could not connect to postgres://u@no-such-host.invalid:5432/app: unknown host "no-such-host.invalid"',
  },
  {
    name: 'connect timeout (a server that accepts and never answers)',
    args: ({ silentPort }) => ['scan', '-d', `host=127.0.0.1 port=${silentPort} dbname=app user=u password=${SECRET} connect_timeout=2`],
    stderr: ({ silentPort }) => `could not connect to postgres://u@127.0.0.1:${silentPort}/app: connection timed out`,
  },
  {
    name: 'wrong password, from PGPASSWORD',
    args: () => ['scan'],
    env: ({ server }) => ({ PGHOST: '127.0.0.1', PGPORT: server.port, PGUSER: 'postgres', PGDATABASE: 'postgres' }),
    stderr: ({ server }) => `could not connect to ${at(server, 'postgres')}: password authentication failed for user "postgres"`,
  },
  {
    name: 'wrong password, in the URL',
    args: ({ server }) => ['plan', '-d', url(server, { password: SECRET })],
    stderr: ({ server }) => `could not connect to ${at(server, 'postgres')}: password authentication failed for user "postgres"`,
  },
  {
    name: 'missing database',
    args: ({ server }) => ['scan', '-d', url(server, { database: 'no_such_db' })],
    stderr: ({ server }) => `could not connect to ${at(server, 'no_such_db')}: database "no_such_db" does not exist`,
  },
  {
    name: 'malformed keyword string',
    args: () => ['scan', '-d', 'host=x port'],
    stderr: () => 'malformed connection string near "port" (expected key=value pairs or a postgres:// URL)',
  },
  {
    name: 'malformed keyword string holding a password',
    args: () => ['scan', '-d', `host=x password='${SECRET}`],
    stderr: () => 'malformed connection string (expected key=value pairs or a postgres:// URL)',
  },
  {
    name: 'malformed URL',
    args: () => ['scan', '-d', `postgres://u:${SECRET}@h:99999/db`],
    stderr: () => 'malformed connection URL (expected postgres://user:password@host:port/dbname)',
  },
  { name: 'unknown connection parameter', args: () => ['scan', '-d', 'hots=x'], stderr: () => 'unknown connection parameter "hots"' },
  { name: 'malformed DATABASE_URL', args: () => ['scan'], env: () => ({ DATABASE_URL: 'sslmode=sometimes' }), stderr: () => 'invalid sslmode "sometimes" (expected disable, allow, prefer, require, verify-ca, verify-full)' },
  { name: 'bad PGPORT', args: () => ['scan'], env: () => ({ PGPORT: 'fivefour' }), stderr: () => 'invalid port "fivefour"' },
  { name: 'bad connect_timeout', args: () => ['scan', '-d', 'connect_timeout=soon'], stderr: () => 'invalid connect_timeout "soon" (expected whole seconds)' },
  // Configuration
  {
    name: 'malformed YAML names file and line',
    args: ({ dir }) => ['scan', '--config', join(dir, 'broken.yml')],
    stderr: ({ dir }) => `${join(dir, 'broken.yml')}:3: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`,
  },
  { name: 'unknown rule in config', args: ({ dir }) => ['scan', '--config', join(dir, 'rule.yml')], stderr: ({ dir }) => `${join(dir, 'rule.yml')}:4: unknown rule "no-such-rule" (see perfaudit rules)` },
  { name: 'unknown rule in an ignore entry', args: ({ dir }) => ['plan', '--config', join(dir, 'ignore.yml')], stderr: ({ dir }) => `${join(dir, 'ignore.yml')}:2: unknown rule "nope" in ignore` },
  { name: 'option of the wrong type', args: ({ dir }) => ['scan', '--config', join(dir, 'option.yml')], stderr: ({ dir }) => `${join(dir, 'option.yml')}:3: rules.missing-fk-index.smallTableRows: expected a number` },
  { name: 'bad failOn in config', args: ({ dir }) => ['scan', '--config', join(dir, 'fail-on.yml')], stderr: ({ dir }) => `${join(dir, 'fail-on.yml')}:1: failOn: expected one of critical, warning, info, none` },
  { name: 'unknown top-level key', args: ({ dir }) => ['scan', '--config', join(dir, 'key.yml')], stderr: ({ dir }) => `${join(dir, 'key.yml')}:2: unknown key "rule" (expected rules, ignore, failOn)` },
  { name: 'absent config file', args: ({ dir }) => ['scan', '--config', join(dir, 'absent.yml')], stderr: ({ dir }) => `cannot read config ${join(dir, 'absent.yml')}: ENOENT` },
  // Flags
  { name: 'unknown rule in --rules', args: () => ['scan', '--snapshot', 'x.json', '--rules', 'missing-fk-index,no-such-rule'], stderr: () => 'unknown rule "no-such-rule" (see perfaudit rules)' },
  { name: 'unknown rule in --exclude-rules', args: () => ['scan', '--snapshot', 'x.json', '--exclude-rules', 'nope'], stderr: () => 'unknown rule "nope" (see perfaudit rules)' },
  { name: 'unknown rule in plan --only', args: () => ['plan', '--snapshot', 'x.json', '--only', 'nope'], stderr: () => 'unknown rule "nope" (see perfaudit rules)' },
  { name: 'unknown rule for rules', args: () => ['rules', 'no-such-rule'], stderr: () => 'unknown rule "no-such-rule" (see perfaudit rules)' },
  { name: '--format bogus', args: () => ['scan', '--format', 'bogus'], stderr: () => "option '--format <format>' argument 'bogus' is invalid. Allowed choices are text, json, sql, markdown, sarif, github." },
  { name: '--fail-on bogus', args: () => ['scan', '--fail-on', 'bogus'], stderr: () => "option '--fail-on <level>' argument 'bogus' is invalid. Allowed choices are critical, warning, info, none." },
  { name: '--migration-tool bogus', args: () => ['plan', '--migration-tool', 'bogus'], stderr: () => "option '--migration-tool <tool>' argument 'bogus' is invalid. Allowed choices are plain, goose, dbmate, golang-migrate, flyway." },
  { name: '--lock-timeout bogus', args: () => ['apply', '--lock-timeout', 'bogus'], stderr: () => 'invalid duration "bogus" (expected e.g. 500ms, 60s, 5m, 1h)' },
  { name: '--max-retries -1', args: () => ['apply', '--max-retries', '-1'], stderr: () => 'invalid --max-retries "-1" (expected a whole number)' },
  { name: '--sample x', args: () => ['scan', '--sample', 'x'], stderr: () => 'invalid duration "x" (expected e.g. 500ms, 60s, 5m, 1h)' },
  { name: '--sample with --snapshot', args: () => ['scan', '--sample', '5s', '--snapshot', 'x.json'], stderr: () => '--sample needs a live database, not --snapshot' },
  { name: 'unknown option', args: () => ['scan', '--bogus'], stderr: () => "unknown option '--bogus'" },
  { name: 'unknown command', args: () => ['frobnicate'], stderr: () => "unknown command 'frobnicate'" },
  { name: 'missing required option', args: () => ['snapshot'], stderr: () => "required option '--output <file>' not specified" },
  // Snapshot files
  { name: 'absent snapshot', args: ({ dir }) => ['scan', '--snapshot', join(dir, 'absent.json')], stderr: ({ dir }) => `cannot read snapshot ${join(dir, 'absent.json')}: ENOENT` },
  { name: 'snapshot that is a directory', args: ({ dir }) => ['scan', '--snapshot', dir], stderr: ({ dir }) => `cannot read snapshot ${dir}: EISDIR` },
  { name: 'snapshot that is not JSON', args: ({ dir }) => ['scan', '--snapshot', join(dir, 'garbage.json')], stderr: ({ dir }) => `snapshot ${join(dir, 'garbage.json')} is not valid JSON` },
  { name: 'snapshot from a newer perfaudit', args: ({ dir }) => ['plan', '--snapshot', join(dir, 'future.json')], stderr: ({ dir }) => `snapshot ${join(dir, 'future.json')} has format 99; this perfaudit reads format 1 (upgrade perfaudit)` },
  { name: 'JSON that is no snapshot', args: ({ dir }) => ['scan', '--snapshot', join(dir, 'list.json')], stderr: ({ dir }) => `${join(dir, 'list.json')} is not a perfaudit snapshot (it has no "format" number)` },
  { name: 'snapshot of the wrong shape', args: ({ dir }) => ['scan', '--snapshot', join(dir, 'shape.json')], stderr: ({ dir }) => `${join(dir, 'shape.json')}: tables[0].columns is not an array` },
  { name: 'snapshot missing a field', args: ({ dir }) => ['scan', '--snapshot', join(dir, 'field.json')], stderr: ({ dir }) => `${join(dir, 'field.json')}: workload.hiddenStatements is missing` },
  // Output
  { name: 'unwritable --output', args: ({ dir }) => ['scan', '--snapshot', join(dir, 'good.json'), '--output', join(dir, 'no', 'dir', 'r.txt')], stderr: ({ dir }) => `cannot write ${join(dir, 'no', 'dir', 'r.txt')}: ENOENT` },
];

const CONFIGS: Readonly<Record<string, string>> = {
  'broken.yml': 'rules:\n  missing-fk-index:\n    severity: [unclosed\n',
  'rule.yml': 'rules:\n  missing-fk-index:\n    severity: info\n  no-such-rule:\n    enabled: false\n',
  'ignore.yml': 'ignore:\n  - rule: nope\n    table: app.*\n',
  'option.yml': 'rules:\n  missing-fk-index:\n    smallTableRows: lots\n',
  'fail-on.yml': 'failOn: sometimes\n',
  'key.yml': 'failOn: none\nrule: {}\n',
};

/** Writes the bad files, from a real snapshot where the shape matters. */
async function badFiles(dir: string, db: TestDatabase): Promise<void> {
  for (const [name, text] of Object.entries(CONFIGS)) await writeFile(join(dir, name), text);
  await writeFile(join(dir, 'garbage.json'), '{nope');
  await writeFile(join(dir, 'future.json'), JSON.stringify({ format: 99 }));
  await writeFile(join(dir, 'list.json'), '[1, 2]');
  const good = join(dir, 'good.json');
  const written = await runCli(['snapshot', '-d', db.url, '--output', good]);
  if (written.code !== 0) throw new Error(written.stderr);
  const snapshot = JSON.parse(await readFile(good, 'utf8')) as { tables: Array<{ columns: unknown }>; workload: Record<string, unknown> };
  await writeFile(join(dir, 'shape.json'), JSON.stringify({ ...snapshot, tables: [{ ...snapshot.tables[0], columns: 'id' }] }));
  delete snapshot.workload.hiddenStatements;
  await writeFile(join(dir, 'field.json'), JSON.stringify(snapshot));
}

/** A TCP server that accepts connections and never says a word. */
async function silentServer(sockets: Set<Socket>): Promise<Server> {
  const server = createServer((socket) => void sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('bad input: one line on stderr, exit 2, nothing on stdout, no password anywhere', () => {
  let context: Context;
  let db: TestDatabase;
  let silent: Server;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'perfaudit-errors-'));
    db = await createDatabase('missing-fk-index');
    await badFiles(dir, db);
    silent = await silentServer(sockets);
    const address = silent.address();
    context = { dir, server: new URL(inject('pgUrl')), silentPort: typeof address === 'object' && address ? address.port : 0 };
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    await db.drop();
  });

  it.concurrent.for(CASES)('$name', async ({ args, env, stderr }, { expect }) => {
    const result = await runCli(args(context), { PGPASSWORD: SECRET, ...env?.(context) });
    expect(result.stderr).toBe(`perfaudit: ${stderr(context)}\n`);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    for (const secret of [SECRET, context.server.password]) expect(result.stdout + result.stderr).not.toContain(secret);
  });
});
