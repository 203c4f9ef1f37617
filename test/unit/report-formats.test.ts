import { describe, expect, it } from 'vitest';
import { renderGithub } from '../../src/report/github.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { codeBlock, codeSpan, escapeMarkdown, tableCell } from '../../src/report/markdown-text.js';
import { renderText } from '../../src/report/text.js';
import { createIndex, findingOf, reportOf } from '../helpers/report.js';

// Names PostgreSQL accepts in quoted identifiers: quotes, semicolons, comment markers,
// pipes, backticks (three in a row, to defeat a naive code fence), `<`, `*`, `@`, `#`.
const hostile = findingOf('missing-fk-index', 'critical', {
  kind: 'constraint', schema: 'Hostile "Schema"; --', table: 'a|b*c<d>', name: 'fk `x` @team #1', columns: ['x```y', 'Tenant | ID'],
}, {
  title: 'Foreign key without a supporting index',
  message: 'Hostile "Schema"; --.a|b*c<d>(x```y) references _parent_; 1. deletes scan it.',
  evidence: { tableRows: 1_200_000, ratio: 0.257 },
  actions: [createIndex('CREATE INDEX CONCURRENTLY IF NOT EXISTS "x```y_idx" ON "Hostile ""Schema""; --"."a|b*c<d>" ("x```y");')],
});
const info = findingOf('missing-primary-key', 'info', { kind: 'table', schema: 'app', table: 'log' }, {
  title: 'Table without a primary key', message: 'app.log has no primary key.',
});
const migration = findingOf('add-column-default', 'warning', { kind: 'table', schema: 'app', table: 'orders' }, {
  title: 'Volatile column default', message: 'ALTER TABLE app.orders rewrites the table: 100%, under ACCESS EXCLUSIVE.\nSplit it.',
  location: { file: 'db/migrations/0002, add: orders.sql', line: 7 },
});
const staleEntry = { rule: 'missing-fk-index', object: 'app.tasks.tasks_project_id_fkey', schema: 'app', columns: ['project_id'], fingerprint: 'a'.repeat(40) };
const report = reportOf([hostile, info], {
  skipped: [{ rule: 'slow-query', reason: 'pg_stat_statements is not installed in database app: run CREATE EXTENSION pg_stat_statements;' }],
  baseline: { file: 'perf|baseline.json', suppressed: 12, unchecked: 1, stale: [staleEntry] },
});

describe('markdown report', () => {
  it('renders title, summary table, skipped rules, stale entries and findings by severity, every name inert', () => {
    expect(renderMarkdown(report)).toBe(`## perfaudit: new findings: 1 critical, 0 warning, 1 info

Database \`app\` · PostgreSQL 18.4 · perfaudit 0.1.0

| Findings | Count |
| --- | ---: |
| Critical | 1 |
| Warning | 0 |
| Info | 1 |
| Known, suppressed by baseline \`perf\\|baseline.json\` | 12 |
| Stale baseline entries | 1 |
| Baseline entries not checked (rule not run or out of scope) | 1 |
| Skipped rules | 1 |

**Skipped rules**

- \`slow-query\`: pg\\_stat\\_statements is not installed in database app\\: run CREATE EXTENSION pg\\_stat\\_statements;

**Stale baseline entries** (no longer found; re-run \`perfaudit baseline\` to prune)

- \`missing-fk-index app.tasks.tasks_project_id_fkey (project_id)\`

### Critical (1)

#### Foreign key without a supporting index · \`missing-fk-index\`

Hostile "Schema"; --.a|b\\*c\\<d\\>(x\\\`\\\`\\\`y) references \\_parent\\_; 1. deletes scan it.

- Object: \`\`Hostile "Schema"; --.a|b*c<d>.fk \`x\` @team #1\`\` (\`\`\`\`x\`\`\`y\`\`\`\`, \`Tenant | ID\`)
- Evidence: tableRows 1,200,000 · ratio 0.26

\`\`\`\`sql
CREATE INDEX CONCURRENTLY IF NOT EXISTS "x\`\`\`y_idx" ON "Hostile ""Schema""; --"."a|b*c<d>" ("x\`\`\`y");
\`\`\`\`

### Info (1)

#### Table without a primary key · \`missing-primary-key\`

app.log has no primary key.

- Object: \`app.log\`
`);
  });

  it('shows a migration finding\'s file and line, and says when nothing is new', () => {
    const text = renderMarkdown(reportOf([migration]));
    expect(text).toContain('\n\nALTER TABLE app.orders rewrites the table\\: 100%, under ACCESS EXCLUSIVE. Split it.\n\n');
    expect(text).toContain('- Location: `db/migrations/0002, add: orders.sql` line 7');
    expect(renderMarkdown(reportOf([], { baseline: { file: 'b.json', suppressed: 3, stale: [], unchecked: 0 } }))).toBe(`## perfaudit: new findings: 0 critical, 0 warning, 0 info

Database \`app\` · PostgreSQL 18.4 · perfaudit 0.1.0

| Findings | Count |
| --- | ---: |
| Critical | 0 |
| Warning | 0 |
| Info | 0 |
| Known, suppressed by baseline \`b.json\` | 3 |
| Stale baseline entries | 0 |

No new findings.
`);
  });

  it('stays under the character cap and says how many findings it left out', () => {
    const many = Array.from({ length: 40 }, (_, i) => findingOf('missing-primary-key', 'warning', { kind: 'table', schema: 'app', table: `t${i}` }, {
      title: 'Table without a primary key', message: `app.t${i} has no primary key. ${'x'.repeat(200)}`,
    }));
    const text = renderMarkdown(reportOf(many), { maxChars: 3000 });
    expect(text.length).toBeLessThanOrEqual(3000);
    const shown = text.split('#### ').length - 1;
    expect(shown).toBeGreaterThan(3);
    expect(text.endsWith(`_${40 - shown} more findings not shown: the output is capped at 3,000 characters to fit a GitHub comment. The text or json report has them all._\n`)).toBe(true);
    expect(renderMarkdown(reportOf(many)).length).toBeLessThan(65_536);
    expect(renderMarkdown(reportOf(many))).not.toContain('not shown');
  });

  it('lists the first 20 stale entries and counts the rest', () => {
    const stale = Array.from({ length: 25 }, (_, i) => ({ ...staleEntry, object: `app.t${i}.fk` }));
    const text = renderMarkdown(reportOf([], { baseline: { file: 'b.json', suppressed: 0, stale, unchecked: 0 } }));
    expect(text).toContain('- `missing-fk-index app.t19.fk (project_id)`\n- and 5 more (the json report lists them all)\n');
    expect(text).not.toContain('app.t20.fk');
  });
});

describe('markdown building blocks', () => {
  it('fences code spans and blocks with more backticks than they hold', () => {
    expect(codeSpan('a`b')).toBe('``a`b``');
    expect(codeSpan('`edge`')).toBe('`` `edge` ``');
    expect(codeSpan('two\nlines')).toBe('`two lines`');
    expect(codeBlock('SELECT 1;', 'sql')).toBe('```sql\nSELECT 1;\n```');
    expect(codeBlock('SELECT "````";', 'sql')).toBe('`````sql\nSELECT "````";\n`````');
  });

  it('escapes what would start a block or act inline, and pipes in table cells', () => {
    expect(escapeMarkdown('- not a list')).toBe('\\- not a list');
    expect(escapeMarkdown('1. not a list, 2.5 stays')).toBe('1\\. not a list, 2.5 stays');
    expect(escapeMarkdown('# <img src=x> [link](y) ~~s~~ &amp; :smile: \\')).toBe('\\# \\<img src=x\\> \\[link\\](y) \\~\\~s\\~\\~ \\&amp; \\:smile\\: \\\\');
    expect(tableCell(`${escapeMarkdown('a\\|b')} ${codeSpan('c|d')}`)).toBe('a\\\\\\|b `c\\|d`');
  });
});

describe('github workflow commands', () => {
  it('writes one annotation per finding, file and line only with a location, all escaped', () => {
    const percent = findingOf('missing-primary-key', 'warning', { kind: 'table', schema: 'app', table: '100%\r' }, {
      title: 'Table: without, a key', message: 'app."100%\r" has no primary key.',
    });
    expect(renderGithub(reportOf([hostile, migration, percent, info]))).toBe([
      '::error title=Foreign key without a supporting index (missing-fk-index)::Hostile "Schema"; --.a|b*c<d>(x```y) references _parent_; 1. deletes scan it.%0AFix: CREATE INDEX CONCURRENTLY IF NOT EXISTS "x```y_idx" ON "Hostile ""Schema""; --"."a|b*c<d>" ("x```y");',
      '::warning file=db/migrations/0002%2C add%3A orders.sql,line=7,title=Volatile column default (add-column-default)::ALTER TABLE app.orders rewrites the table: 100%25, under ACCESS EXCLUSIVE.%0ASplit it.',
      '::warning title=Table%3A without%2C a key (missing-primary-key)::app."100%25%0D" has no primary key.',
      '::notice title=Table without a primary key (missing-primary-key)::app.log has no primary key.',
      '',
    ].join('\n'));
  });

  it('adds one notice for stale baseline entries', () => {
    expect(renderGithub(reportOf([], { baseline: { file: 'perfaudit-baseline.json', suppressed: 2, stale: [staleEntry], unchecked: 0 } }))).toBe(
      '::notice title=perfaudit baseline::2 known findings suppressed by baseline perfaudit-baseline.json; 1 stale entry — re-run perfaudit baseline to prune\n');
  });
});

describe('text report', () => {
  it('says what the baseline suppressed and which entries are stale, and where a migration finding is', () => {
    const text = renderText(reportOf([migration], { baseline: { file: 'perfaudit-baseline.json', suppressed: 12, stale: [staleEntry, staleEntry], unchecked: 0 } }), { color: false });
    expect(text).toContain([
      '12 known findings suppressed by baseline perfaudit-baseline.json; 2 stale entries — re-run perfaudit baseline to prune',
      '  stale: missing-fk-index app.tasks.tasks_project_id_fkey (project_id)',
    ].join('\n'));
    expect(text).toContain('  at db/migrations/0002, add: orders.sql:7');
  });
});
