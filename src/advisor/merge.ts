import { indexColumns, type Candidate } from './candidates.js';

/**
 * Merges candidates so one index serves several statements: a candidate whose columns can
 * be made a prefix of a longer one's (equality columns in any order, then its range or
 * sort column) is folded into it. `(owner_id)`, `(owner_id, type_id)` and
 * `(type_id, owner_id) + ORDER BY uploaded_at` become one `(owner_id, type_id, uploaded_at)`.
 * Only candidates on the same table with the same partial predicate merge.
 */
export function mergeCandidates(candidates: readonly Candidate[]): Candidate[] {
  const ordered = [...candidates].sort((a, b) => indexColumns(b).length - indexColumns(a).length);
  const merged: Candidate[] = [];
  for (const candidate of ordered) {
    const at = merged.findIndex((into) => fold(candidate, into) !== null);
    if (at < 0) merged.push(candidate);
    else merged[at] = fold(candidate, merged[at]!)!;
  }
  return merged;
}

/** `into`, reshaped so that `candidate` is served by its prefix, or null when it cannot be. */
export function fold(candidate: Candidate, into: Candidate): Candidate | null {
  if (candidate.table.oid !== into.table.oid || JSON.stringify(candidate.partial) !== JSON.stringify(into.partial)) return null;
  const layers = into.layers.map((layer) => [...layer]);
  const wanted = new Set(candidate.layers.flat());
  let i = 0;
  while (wanted.size > 0) {
    const layer = layers[i];
    if (!layer) return null;
    const shared = layer.filter((attnum) => wanted.has(attnum));
    if (shared.length === 0 || (shared.length < layer.length && shared.length < wanted.size)) return null;
    if (shared.length < layer.length) layers.splice(i, 1, shared, layer.filter((attnum) => !wanted.has(attnum)));
    for (const attnum of shared) wanted.delete(attnum);
    i++;
  }
  let trailing = into.trailing;
  if (candidate.trailing) {
    const t = candidate.trailing.attnum;
    const layer = layers[i];
    if (layer) {
      if (!layer.includes(t)) return null;
      if (layer.length > 1) layers.splice(i, 1, [t], layer.filter((attnum) => attnum !== t));
    } else if (!trailing) {
      trailing = candidate.trailing;
    } else if (trailing.attnum !== t) {
      return null;
    }
  }
  return { ...into, layers, trailing, uses: [...into.uses, ...candidate.uses] };
}
