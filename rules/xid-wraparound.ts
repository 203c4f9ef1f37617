import type { HorizonHolder, Snapshot, Table } from '../src/collect/snapshot.js';
import { formatCount } from '../src/plan/numbers.js';
import { qualify, quoteLiteral } from '../src/plan/quote.js';
import { defineRule, target, type Action, type Evidence, type FindingDraft, type Severity } from '../src/rule.js';

/** Transaction IDs (and multixact IDs) wrap around at 2^31 ages. */
const HARD_LIMIT = 2 ** 31;
/** PostgreSQL refuses to assign new IDs this close to the hard limit. */
const STOP_MARGIN = 3_000_000;
/** How many horizon holders the evidence names. */
const HOLDERS_SHOWN = 3;

export default defineRule({
  id: 'xid-wraparound',
  title: 'Transaction ID wraparound approaching',
  category: 'maintenance',
  severity: 'warning',
  requires: [],
  options: {
    /** Share of the freeze max age from which a table or the database is reported. */
    warnShareOfFreezeMaxAge: 0.9,
    /** Age (XIDs or multixacts) from which it is critical (vacuum_failsafe_age if lower). */
    criticalAge: 1_500_000_000,
    /** Overrides autovacuum_freeze_max_age and its multixact twin when above 0. */
    freezeMaxAge: 0,
    /** A horizon holder this many XIDs old gets a manual step to end it before the VACUUM. */
    holderAge: 10_000_000,
  },
  docs: `
## What is wrong
A table (or the database as a whole) whose oldest unfrozen transaction ID
(\`relfrozenxid\`, \`datfrozenxid\`) or multixact ID (\`relminmxid\`, \`datminmxid\`) is
close to \`autovacuum_freeze_max_age\` (default 200M; 400M for multixacts), or far
beyond it, on the way to the 2^31 hard limit.

## Why it hurts
Transaction IDs are 32-bit and compared modulo 2^31. Past \`autovacuum_freeze_max_age\`
autovacuum starts an anti-wraparound VACUUM of the whole table that cannot be cancelled
and runs even when autovacuum is off. If it cannot keep up, or something holds the xmin
horizon back, the age keeps growing: at \`vacuum_failsafe_age\` (1.6B) VACUUM drops all
throttling and index cleanup to finish, and about 3M transactions before 2^31
PostgreSQL stops assigning transaction IDs: every write fails until a VACUUM of the
oldest tables completes, which on a big table means hours of outage.

## How perfaudit detects it
Ages are \`age(relfrozenxid)\` and \`mxid_age(relminmxid)\` of each table and matview
(partitioned parents hold no rows; their partitions are judged), and \`age(datfrozenxid)\`
and \`mxid_age(datminmxid)\` of the database. The limit is \`autovacuum_freeze_max_age\`
(\`autovacuum_multixact_freeze_max_age\` for multixacts), or the table's own lower
reloption, or the \`freezeMaxAge\` option when set. A table is a \`warning\` from
\`warnShareOfFreezeMaxAge\` of that limit (anti-wraparound autovacuum is imminent or
running) and \`critical\` from \`criticalAge\` or \`vacuum_failsafe_age\`, whichever is lower.
Evidence gives the age, the limit, the share of 2^31 used, the transactions left before
PostgreSQL stops, and the oldest horizon holders (sessions with an old xmin or XID,
prepared transactions, replication slots) with their ages: VACUUM FREEZE cannot advance
\`relfrozenxid\` past the oldest of them.

## Fix
\`VACUUM (FREEZE, VERBOSE)\` on each reported table, oldest first: it takes SHARE UPDATE
EXCLUSIVE, so reads and writes go on (DDL waits). A horizon holder at least \`holderAge\`
XIDs old must go first, or the VACUUM cannot help: a manual step names it with the
statement that ends it (\`pg_terminate_backend\`, \`ROLLBACK PREPARED\`,
\`pg_drop_replication_slot\`), never run by perfaudit, since it loses that work. For the
database as a whole the advice is \`vacuumdb --freeze --min-xid-age\`, which also reaches
system catalogs and tables this role cannot see.

## Limits
Only tables in the snapshot (user schemas) are reported one by one; old system catalogs
show only in the database finding. Ages are read at snapshot time and grow with every
transaction. Holders are cluster-wide and may belong to other databases. The multixact
hard limit is also judged at 2^31, though member space can run out sooner.
`,
  check(snapshot, options) {
    const holders = snapshot.server.horizonHolders;
    const settings = snapshot.server.settings;
    const failsafe = settingNumber(settings.vacuum_failsafe_age, 1_600_000_000);
    const mxFailsafe = settingNumber(settings.vacuum_multixact_failsafe_age, 1_600_000_000);
    const xidLimit = options.freezeMaxAge > 0 ? options.freezeMaxAge : settingNumber(settings.autovacuum_freeze_max_age, 200_000_000);
    const mxidLimit = options.freezeMaxAge > 0
      ? options.freezeMaxAge : settingNumber(settings.autovacuum_multixact_freeze_max_age, 400_000_000);
    const judge = (age: number | null, limit: number, failsafeAge: number): Severity | null => {
      if (age === null) return null;
      if (age >= Math.min(options.criticalAge, failsafeAge)) return 'critical';
      return age >= limit * options.warnShareOfFreezeMaxAge ? 'warning' : null;
    };
    const oldHolders = holders.filter((holder) => holder.xidAge >= options.holderAge);
    const holderActions = oldHolders.map(holderAction);
    const holderEvidence = describeHolders(holders);
    const blockedBy = oldHolders.length > 0
      ? ` VACUUM FREEZE cannot advance past ${holderName(oldHolders[0]!)} (${formatCount(oldHolders[0]!.xidAge)} XIDs old): end it first.`
      : '';

    const tableFindings = snapshot.tables
      .filter((table): table is Table & { frozenXidAge: number } => table.kind !== 'partitioned' && table.frozenXidAge !== null)
      .flatMap((table): FindingDraft[] => {
        const limit = Math.min(xidLimit, options.freezeMaxAge > 0 ? Infinity : reloption(table, 'autovacuum_freeze_max_age'));
        const mxLimit = Math.min(mxidLimit, options.freezeMaxAge > 0 ? Infinity : reloption(table, 'autovacuum_multixact_freeze_max_age'));
        const mxSeverity = judge(table.minMultiXactAge, mxLimit, mxFailsafe);
        const severity = worst(judge(table.frozenXidAge, limit, failsafe), mxSeverity);
        if (!severity) return [];
        const name = qualify(table.schema, table.name);
        return [{
          severity,
          message: `${table.schema}.${table.name} is ${formatCount(table.frozenXidAge)} transactions old `
            + `(${percent(table.frozenXidAge / HARD_LIMIT)} of the 2^31 limit; anti-wraparound autovacuum from ${formatCount(limit)})`
            + `${mxSeverity ? `, multixacts ${formatCount(table.minMultiXactAge ?? 0)} old (from ${formatCount(mxLimit)})` : ''}.`
            + blockedBy,
          target: target('table', { schema: table.schema, table: table.name }),
          evidence: {
            ...ageEvidence(table.frozenXidAge, limit, table.minMultiXactAge, mxLimit),
            relpages: table.relpages,
            ...holderEvidence,
          },
          actions: [
            ...holderActions,
            { kind: 'vacuum', sql: `VACUUM (FREEZE, VERBOSE) ${name};`, transactional: false, lock: 'SHARE UPDATE EXCLUSIVE' },
          ],
        }];
      })
      .sort((a, b) => Number(b.evidence.age) - Number(a.evidence.age));

    const { databaseFrozenXidAge: age, databaseMinMultiXactAge: mxAge, database } = snapshot.server;
    const dbSeverity = worst(judge(age, xidLimit, failsafe), judge(mxAge, mxidLimit, mxFailsafe));
    const databaseFindings: FindingDraft[] = dbSeverity ? [{
      severity: dbSeverity,
      message: `Database ${database} is ${formatCount(age)} transactions old (${percent(age / HARD_LIMIT)} of the 2^31 limit; `
        + `${formatCount(Math.max(0, HARD_LIMIT - STOP_MARGIN - age))} left before PostgreSQL stops assigning transaction IDs).`
        + blockedBy,
      target: target('database', { name: database }),
      evidence: { ...ageEvidence(age, xidLimit, mxAge, mxidLimit), ...holderEvidence },
      actions: [...holderActions, databaseVacuum(snapshot, Math.floor(xidLimit * options.warnShareOfFreezeMaxAge))],
    }] : [];
    return [...databaseFindings, ...tableFindings];
  },
});

function ageEvidence(age: number, limit: number, mxAge: number | null, mxLimit: number): Evidence {
  return {
    age,
    freezeMaxAge: limit,
    shareOfFreezeMaxAge: round(age / limit),
    shareOfHardLimit: round(age / HARD_LIMIT),
    xidsLeft: Math.max(0, HARD_LIMIT - STOP_MARGIN - age),
    multiXactAge: mxAge,
    multiXactFreezeMaxAge: mxLimit,
  };
}

function describeHolders(holders: readonly HorizonHolder[]): Evidence {
  const oldest = holders[0];
  return {
    oldestHolder: oldest ? holderName(oldest) : null,
    oldestHolderAge: oldest?.xidAge ?? null,
    horizonHolders: holders.slice(0, HOLDERS_SHOWN)
      .map((holder) => `${holderName(holder)}: ${formatCount(holder.xidAge)} XIDs${holder.since ? ` since ${holder.since}` : ''}`)
      .join('; ') || null,
  };
}

function holderName(holder: HorizonHolder): string {
  if (holder.kind === 'session') return `session ${holder.name}`;
  return `${holder.kind} ${quoteLiteral(holder.name)}`;
}

// Advice only: ending a session, a prepared transaction or a slot loses work someone relies on.
function holderAction(holder: HorizonHolder): Action {
  const age = `${formatCount(holder.xidAge)} XIDs old${holder.since ? `, since ${holder.since}` : ''}`;
  const lines = holder.kind === 'session'
    ? [
      `Session ${holder.name} holds the xmin horizon back (${age}).`,
      `Check what it runs: SELECT datname, usename, application_name, state, query FROM pg_stat_activity WHERE pid = ${Number(holder.name)};`,
      'If it can go (its open transaction is rolled back):',
      `SELECT pg_terminate_backend(${Number(holder.name)});`,
    ]
    : holder.kind === 'prepared transaction'
      ? [
        `Prepared transaction ${quoteLiteral(holder.name)} holds the xmin horizon back (${age}).`,
        'If its transaction manager has abandoned it, in its database (pg_prepared_xacts.database):',
        `ROLLBACK PREPARED ${quoteLiteral(holder.name)};`,
      ]
      : [
        `Replication slot ${quoteLiteral(holder.name)} holds the xmin horizon back (${age}).`,
        'If its consumer is gone for good (it will have to be re-seeded):',
        `SELECT pg_drop_replication_slot(${quoteLiteral(holder.name)});`,
      ];
  return { kind: 'manual', sql: lines.join('\n'), transactional: true, lock: null };
}

// Catalogs and tables outside the snapshot count in datfrozenxid too: vacuumdb reaches them all.
function databaseVacuum(snapshot: Snapshot, minAge: number): Action {
  return {
    kind: 'manual',
    sql: [
      'Freeze every table past the threshold, system catalogs included, oldest first (online: SHARE UPDATE EXCLUSIVE per table):',
      `vacuumdb --dbname=${shellQuote(snapshot.server.database)} --freeze --min-xid-age=${minAge} --jobs=4 --verbose`,
    ].join('\n'),
    transactional: false,
    lock: 'SHARE UPDATE EXCLUSIVE',
  };
}

function shellQuote(value: string): string {
  return /^[\w.-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

function reloption(table: Table, name: string): number {
  const entry = table.reloptions.find((option) => option.startsWith(`${name}=`));
  return entry ? settingNumber(entry.slice(name.length + 1), Infinity) : Infinity;
}

function settingNumber(value: string | undefined, fallback: number): number {
  const number = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(number) ? number : fallback;
}

function worst(a: Severity | null, b: Severity | null): Severity | null {
  if (a === 'critical' || b === 'critical') return 'critical';
  return a ?? b;
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(share < 0.001 ? 4 : 1)}%`;
}
