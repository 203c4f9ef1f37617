import { bodyOf, listOf, type Node } from '../advisor/parse-tree.js';
import type { MigrationStatement } from '../rule.js';
import { hasOption } from './hazard.js';

/** Table lock modes, weakest first (LockStmt's `mode` is the index, 1-based). */
const MODES = [
  'ACCESS SHARE', 'ROW SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE',
  'SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE',
] as const;
export type LockMode = (typeof MODES)[number];

// INSERT, UPDATE and DELETE take ROW EXCLUSIVE, which SHARE and every stronger mode conflict with.
const FIRST_WRITE_BLOCKING = MODES.indexOf('SHARE');

// ALTER TABLE subcommands that take less than ACCESS EXCLUSIVE (tablecmds.c, AlterTableGetLockLevel).
const SUBCOMMAND_LOCKS: Readonly<Record<string, LockMode>> = {
  AT_ValidateConstraint: 'SHARE UPDATE EXCLUSIVE',
  AT_SetStatistics: 'SHARE UPDATE EXCLUSIVE',
  AT_SetOptions: 'SHARE UPDATE EXCLUSIVE',
  AT_ResetOptions: 'SHARE UPDATE EXCLUSIVE',
  AT_SetRelOptions: 'SHARE UPDATE EXCLUSIVE',
  AT_ResetRelOptions: 'SHARE UPDATE EXCLUSIVE',
  AT_ClusterOn: 'SHARE UPDATE EXCLUSIVE',
  AT_DropCluster: 'SHARE UPDATE EXCLUSIVE',
  AT_DetachPartitionFinalize: 'SHARE UPDATE EXCLUSIVE',
  AT_EnableTrig: 'SHARE ROW EXCLUSIVE',
  AT_EnableAlwaysTrig: 'SHARE ROW EXCLUSIVE',
  AT_EnableReplicaTrig: 'SHARE ROW EXCLUSIVE',
  AT_EnableTrigAll: 'SHARE ROW EXCLUSIVE',
  AT_EnableTrigUser: 'SHARE ROW EXCLUSIVE',
  AT_DisableTrig: 'SHARE ROW EXCLUSIVE',
  AT_DisableTrigAll: 'SHARE ROW EXCLUSIVE',
  AT_DisableTrigUser: 'SHARE ROW EXCLUSIVE',
};

const DROPPED_WITH_ACCESS_EXCLUSIVE = new Set(['OBJECT_TABLE', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE', 'OBJECT_TRIGGER', 'OBJECT_RULE', 'OBJECT_POLICY']);
const RENAMED_WITH_ACCESS_EXCLUSIVE = new Set(['OBJECT_TABLE', 'OBJECT_COLUMN', 'OBJECT_TABCONSTRAINT', 'OBJECT_TRIGGER', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE']);

/**
 * The strongest lock a statement takes on the table it is about, when that lock conflicts
 * with writes (SHARE or stronger); null for statements that let writes through.
 *
 * @example ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p // 'SHARE ROW EXCLUSIVE'
 */
export function writeBlockingLock(statement: MigrationStatement): LockMode | null {
  const mode = lockOf(statement);
  return mode !== null && MODES.indexOf(mode) >= FIRST_WRITE_BLOCKING ? mode : null;
}

function lockOf({ kind, node }: MigrationStatement): LockMode | null {
  switch (kind) {
    case 'AlterTableStmt': return node.objtype === 'OBJECT_INDEX' ? null : strongest(listOf(node.cmds).map((cmd) => subcommandLock(bodyOf(cmd, 'AlterTableCmd') ?? {})));
    case 'IndexStmt': return node.concurrent === true ? 'SHARE UPDATE EXCLUSIVE' : 'SHARE';
    case 'ReindexStmt': return hasOption(node.params, 'concurrently') ? 'SHARE UPDATE EXCLUSIVE' : 'SHARE';
    case 'DropStmt':
      if (node.removeType === 'OBJECT_INDEX') return node.concurrent === true ? 'SHARE UPDATE EXCLUSIVE' : 'ACCESS EXCLUSIVE';
      return DROPPED_WITH_ACCESS_EXCLUSIVE.has(String(node.removeType)) ? 'ACCESS EXCLUSIVE' : null;
    case 'RenameStmt': return RENAMED_WITH_ACCESS_EXCLUSIVE.has(String(node.renameType)) ? 'ACCESS EXCLUSIVE' : null;
    case 'AlterObjectSchemaStmt': return node.objectType === 'OBJECT_TABLE' ? 'ACCESS EXCLUSIVE' : null;
    case 'CreateTrigStmt': return 'SHARE ROW EXCLUSIVE';
    case 'LockStmt': return MODES[Number(node.mode ?? 8) - 1] ?? null;
    case 'VacuumStmt': return hasOption(node.options, 'full') ? 'ACCESS EXCLUSIVE' : null;
    case 'TruncateStmt': case 'ClusterStmt': case 'RuleStmt': return 'ACCESS EXCLUSIVE';
    default: return null;
  }
}

function subcommandLock(cmd: Node): LockMode {
  if (cmd.subtype === 'AT_AddConstraint' && bodyOf(cmd.def, 'Constraint')?.contype === 'CONSTR_FOREIGN') return 'SHARE ROW EXCLUSIVE';
  if (cmd.subtype === 'AT_DetachPartition' && bodyOf(cmd.def, 'PartitionCmd')?.concurrent === true) return 'SHARE UPDATE EXCLUSIVE';
  return SUBCOMMAND_LOCKS[String(cmd.subtype)] ?? 'ACCESS EXCLUSIVE';
}

function strongest(modes: readonly LockMode[]): LockMode | null {
  return modes.reduce<LockMode | null>((best, mode) => (best === null || MODES.indexOf(mode) > MODES.indexOf(best) ? mode : best), null);
}
