import type { Finding } from '../rule.js';
import type { Applied, Origin } from './apply.js';
import { objectId } from './observe.js';

/**
 * The statement of `file` (the migration after which a schema finding first appeared)
 * that made it: the last of the file's statements creating an object the finding
 * names (the index, constraint, or the index it duplicates or extends), else the
 * one creating its table; when the file created none of them (it dropped the index a
 * foreign key used), its first statement on the finding's table, else its first.
 */
export function locate(finding: Finding, applied: Applied, file: string): Origin {
  const { target } = finding;
  const originIn = (id: string) => {
    const origin = applied.origins.get(id);
    return origin?.file === file ? origin : undefined;
  };
  const named = [
    objectId(target.kind === 'constraint' ? 'c' : 'r', target.schema, target.table, target.kind === 'table' ? target.table : target.name),
    ...finding.actions.flatMap((action) => (action.dependsOn ? [objectId('r', action.dependsOn.schema, target.table, action.dependsOn.name)] : [])),
  ].map(originIn).filter((origin) => origin !== undefined);
  const made = named.sort((a, b) => b.line - a.line)[0] ?? originIn(objectId('r', target.schema, target.table, target.table));
  if (made) return made;
  const statements = applied.migrations.find((migration) => migration.file === file)?.statements ?? [];
  const statement = statements.find((s) => s.target?.schema === target.schema && s.target.name === target.table) ?? statements[0];
  return { file, line: statement?.line ?? 1 };
}
