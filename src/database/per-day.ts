import type { EntityManager } from 'typeorm';
import { select } from './sql';

/** A number per day over one table (docs/operator-guide.md "Dashboard"). Fragments are constants of the caller, never input. */
export interface DailyMetric {
  table: string;
  /** The instant that puts a row in a day. */
  at: string;
  /** What a row adds (1 to count). */
  value: string;
  where: string;
}

/**
 * One query per metric: a SUM(CASE …) column per day over the whole range, a single indexed range
 * scan (same SQL on MySQL and SQLite). One number per day of `bounds`, in order.
 */
export async function sumPerDay(em: EntityManager, m: DailyMetric, bounds: Array<{ start: Date; end: Date }>): Promise<number[]> {
  const cols = bounds.map((_, i) => `COALESCE(SUM(CASE WHEN ${m.at} >= ? AND ${m.at} < ? THEN ${m.value} ELSE 0 END), 0) AS d${i}`);
  const params: unknown[] = bounds.flatMap((b) => [b.start, b.end]);
  params.push(bounds[0].start, bounds[bounds.length - 1].end);
  const [row] = await select<Record<string, unknown>>(
    em,
    `SELECT ${cols.join(', ')} FROM ${m.table} WHERE ${m.at} >= ? AND ${m.at} < ? AND ${m.where}`,
    params,
  );
  return bounds.map((_, i) => Number(row?.[`d${i}`] ?? 0));
}
