import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

/** Every bad input: one line on stderr, exit code 2, no stack trace, no password. */
function expectCleanError(result: { code: number; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('bad input', () => {
  let dir: string;
  let server: URL;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'perfaudit-errors-'));
    server = new URL(inject('pgUrl'));
  });

  it('refused port', async () => {
    const result = await runCli(['scan', '-d', 'postgres://u:s3cret-pw@127.0.0.1:1/app']);
    expectCleanError(result, /^perfaudit: could not connect to postgres:\/\/u@127\.0\.0\.1:1\/app: connection refused/);
    expect(result.stderr).not.toContain('s3cret-pw');
  });

  it('unknown host', async () => {
    expectCleanError(await runCli(['scan', '-d', 'host=no-such-host.invalid dbname=app user=u']), /unknown host "no-such-host.invalid"/);
  });

  it('wrong password, from PGPASSWORD, is named but never printed', async () => {
    const result = await runCli(['scan'], { PGHOST: '127.0.0.1', PGPORT: server.port, PGUSER: 'postgres', PGDATABASE: 'postgres', PGPASSWORD: 'wrong-Secret-42' });
    expectCleanError(result, /password authentication failed for user "postgres"/);
    expect(result.stderr).not.toContain('wrong-Secret-42');
  });

  it('missing database', async () => {
    const url = new URL(server);
    url.pathname = '/no_such_db';
    const result = await runCli(['scan', '-d', url.toString()]);
    expectCleanError(result, /database "no_such_db" does not exist/);
    expect(result.stderr).not.toContain(server.password);
  });

  it('malformed connection strings', async () => {
    expectCleanError(await runCli(['scan', '-d', 'host=x port=']), /malformed connection string/);
    expectCleanError(await runCli(['scan', '-d', 'postgres://u:p@h:99999/db']), /malformed connection URL|invalid port/);
    expectCleanError(await runCli(['scan', '-d', 'hots=x']), /unknown connection parameter "hots"/);
  });

  it('unknown rule ids in flags', async () => {
    expectCleanError(await runCli(['scan', '--snapshot', 'x.json', '--rules', 'missing-fk-index,no-such-rule']), /^perfaudit: unknown rule "no-such-rule"/);
    expectCleanError(await runCli(['scan', '--snapshot', 'x.json', '--exclude-rules', 'nope']), /^perfaudit: unknown rule "nope"/);
    expectCleanError(await runCli(['rules', 'no-such-rule']), /^perfaudit: unknown rule "no-such-rule"/);
  });

  it('unknown option values', async () => {
    expectCleanError(await runCli(['scan', '--format', 'xml']), /option '--format <format>' argument 'xml' is invalid/);
    expectCleanError(await runCli(['scan', '--fail-on', 'sometimes']), /argument 'sometimes' is invalid/);
    expectCleanError(await runCli(['frobnicate']), /unknown command 'frobnicate'/);
    expectCleanError(await runCli(['scan', '--sample', 'a while']), /invalid duration "a while"/);
    expectCleanError(await runCli(['scan', '--sample', '5s', '--snapshot', 'x.json']), /--sample needs a live database/);
  });

  it('malformed YAML and bad config name the file and line', async () => {
    const broken = join(dir, 'broken.yml');
    await writeFile(broken, 'rules:\n  missing-fk-index:\n    severity: [unclosed\n');
    expectCleanError(await runCli(['scan', '--config', broken]), new RegExp(`^perfaudit: ${broken}:\\d+: invalid YAML`));
    const unknown = join(dir, 'unknown.yml');
    await writeFile(unknown, 'rules:\n  missing-fk-index:\n    severity: info\n  no-such-rule:\n    enabled: false\n');
    expectCleanError(await runCli(['scan', '--config', unknown]), new RegExp(`^perfaudit: ${unknown}:4: unknown rule "no-such-rule"`));
    const badOption = join(dir, 'option.yml');
    await writeFile(badOption, 'rules:\n  missing-fk-index:\n    smallTableRows: lots\n');
    expectCleanError(await runCli(['scan', '--config', badOption]), /option\.yml:3: rules\.missing-fk-index\.smallTableRows: expected a number/);
    expectCleanError(await runCli(['scan', '--config', join(dir, 'absent.yml')]), /cannot read config .*absent\.yml: ENOENT/);
  });

  it('unreadable or foreign snapshot files', async () => {
    expectCleanError(await runCli(['scan', '--snapshot', join(dir, 'absent.json')]), /cannot read snapshot .*ENOENT/);
    const future = join(dir, 'future.json');
    await writeFile(future, JSON.stringify({ format: 99 }));
    expectCleanError(await runCli(['scan', '--snapshot', future]), /has format 99; this perfaudit reads format 1/);
    const garbage = join(dir, 'garbage.json');
    await writeFile(garbage, '{nope');
    expectCleanError(await runCli(['scan', '--snapshot', garbage]), /is not valid JSON/);
  });
});
