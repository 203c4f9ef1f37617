import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/embedded/server.js';
import { runCli } from '../helpers/cli.js';
import { startSystemPostgres, requireSystemPostgres, type SystemPostgres } from '../helpers/system-postgres.js';

// hypopg exists only for the machine's PostgreSQL 15: scan it through the CLI and check
// that proposals come back verified by the planner and drops checked against plans.
describe('scan verifies proposals with hypopg', () => {
  let server: SystemPostgres;
  let url: string;
  beforeAll(async () => {
    requireSystemPostgres(['hypopg']);
    server = await startSystemPostgres();
    await withClient(server.url(), (client) => client.query('CREATE DATABASE verify'));
    url = server.url('verify');
    await withClient(url, async (client) => {
      await client.query(`
        CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg;
        CREATE TABLE public.tickets (id bigint PRIMARY KEY, requester int NOT NULL, state text NOT NULL, body text);
        INSERT INTO public.tickets SELECT g, g % 5000, 'open', md5(g::text) FROM generate_series(1, 100000) g;
        CREATE INDEX tickets_state_idx ON public.tickets (state);
        CREATE INDEX tickets_state_copy_idx ON public.tickets (state);
        ANALYZE public.tickets;`);
    });
    // The bulk load is not application write traffic: start the counters after it.
    await withClient(url, (client) => client.query('SELECT pg_stat_statements_reset(), pg_stat_reset()'));
    await withClient(url, async (client) => {
      for (let i = 1; i <= 60; i++) await client.query('SELECT id, body FROM public.tickets WHERE requester = $1', [i]);
    });
  }, 120_000);
  afterAll(() => server?.stop());

  it('keeps the proposed index with its planned cost before and after', async () => {
    const result = await runCli(['scan', '-d', url, '--format', 'json', '--rules', 'missing-index,duplicate-index', '--fail-on', 'none']);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout);
    const proposal = report.findings.find((f: { rule: string }) => f.rule === 'missing-index');
    expect(proposal.target).toMatchObject({ schema: 'public', table: 'tickets', columns: ['requester'] });
    expect(proposal.evidence).toMatchObject({ verified: true, statementsUsingIndex: 1 });
    expect(proposal.evidence.costAfter).toBeLessThan(proposal.evidence.costBefore * 0.1);
    expect(proposal.message).toMatch(/Verified with hypopg: planned cost [\d.]+ → [\d.]+\.$/);
    const duplicate = report.findings.find((f: { rule: string }) => f.rule === 'duplicate-index');
    expect(duplicate.evidence).toMatchObject({ plansChecked: expect.any(Number), plansChanged: 0 });
  });
});
