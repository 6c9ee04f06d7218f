/**
 * Turns a memory filter into SQL predicates with numbered parameters. Every predicate set
 * starts with the tenant, so no query can forget it.
 */
import type { Kind } from '../memory/model.ts';

export interface MemoryFilter {
  tenant: string;
  /** Projects to search; undefined means every project of the tenant. */
  projects?: readonly string[];
  session?: string;
  kinds?: readonly Kind[];
  /** Every one of these tags must be present. */
  tags?: readonly string[];
  since?: Date;
  until?: Date;
}

export class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** SQL predicates (joined with AND) for live memories matching the filter, on alias `m`. */
export function filterSql(filter: MemoryFilter, params: Params): string {
  const where = [`m.tenant = ${params.add(filter.tenant)}`, 'm.deleted_at IS NULL'];
  if (filter.projects) where.push(`m.project = ANY(${params.add(filter.projects)}::text[])`);
  if (filter.session !== undefined) where.push(`m.session_id = ${params.add(filter.session)}`);
  if (filter.kinds && filter.kinds.length > 0) where.push(`m.kind = ANY(${params.add(filter.kinds)}::text[])`);
  if (filter.tags && filter.tags.length > 0) where.push(`m.tags @> ${params.add(filter.tags)}::text[]`);
  if (filter.since) where.push(`m.created_at >= ${params.add(filter.since)}`);
  if (filter.until) where.push(`m.created_at < ${params.add(filter.until)}`);
  return where.join(' AND ');
}

/** The corpus a ranking is measured against: tenant and projects only (not session or time). */
export function corpusFilter(filter: MemoryFilter): MemoryFilter {
  return filter.projects ? { tenant: filter.tenant, projects: filter.projects } : { tenant: filter.tenant };
}

/**
 * The scope predicate that lets the scoped GIN indexes (migrations/004_search_scale.ts) answer
 * a term or bucket lookup for the filter's tenant and projects inside the index: the same
 * expression as the indexes' first column, containing the tenant key (every project) or
 * overlapping the tenant-and-project keys. Added beside filterSql, never instead of it.
 */
export function scopeSql(filter: MemoryFilter, params: Params): string {
  const scope = `ARRAY[m.tenant, m.tenant || E'\\x1f' || m.project]`;
  if (!filter.projects) return `${scope} @> ARRAY[${params.add(filter.tenant)}::text]`;
  return `${scope} && ${params.add(filter.projects.map((p) => `${filter.tenant}\u001f${p}`))}::text[]`;
}
