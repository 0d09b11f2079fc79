import { QueryRunnerAlreadyReleasedError, type EntityManager } from 'typeorm';

export interface WriteResult {
  /** Rows the statement changed (MySQL affectedRows, SQLite changes()). */
  affected: number;
  /** The new row's id, when `affected` is 1 and the statement inserted. */
  insertId?: number;
}

/**
 * Runs a write and reports what it changed — the primitive behind every conditional update and
 * insert-if-absent. TypeORM's plain `query()` on better-sqlite3 returns a number that does not say
 * whether a row changed; the structured result does, on both drivers. On MySQL the statement goes
 * straight to mysql2 (`mysqlTarget`).
 */
export async function execute(em: EntityManager, sql: string, params: unknown[] = []): Promise<WriteResult> {
  const target = mysqlTarget(em);
  if (target) {
    const header = (await mysqlQuery(target, sql, params)) as { affectedRows?: number; insertId?: number };
    const affected = Number(header.affectedRows ?? 0);
    return { affected, insertId: affected === 1 && header.insertId ? Number(header.insertId) : undefined };
  }
  const own = !em.queryRunner;
  const qr = em.queryRunner ?? em.connection.createQueryRunner();
  try {
    const res = await qr.query(sql, bindable(em, params), true);
    const affected = Number(res.affected ?? 0);
    const rawId =
      typeof res.raw === 'number' || typeof res.raw === 'bigint' ? res.raw : (res.raw as { insertId?: number } | undefined)?.insertId;
    return { affected, insertId: affected === 1 && rawId ? Number(rawId) : undefined };
  } finally {
    if (own) await qr.release();
  }
}

/** `INSERT IGNORE` (MySQL) / `INSERT OR IGNORE` (SQLite): insert unless a unique key exists. */
export function insertIgnore(em: EntityManager): string {
  return em.connection.options.type === 'mysql' ? 'INSERT IGNORE INTO' : 'INSERT OR IGNORE INTO';
}

/** A unique key refused an insert (MySQL ER_DUP_ENTRY, SQLite SQLITE_CONSTRAINT_UNIQUE/PRIMARYKEY). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; driverError?: { code?: string; errno?: number } };
  const d = e?.driverError ?? e;
  return (
    d?.code === 'ER_DUP_ENTRY' || d?.errno === 1062 || d?.code === 'SQLITE_CONSTRAINT_UNIQUE' || d?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/** A raw read with the same parameter conversion as `execute`. */
export async function select<T = Record<string, unknown>>(em: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  const target = mysqlTarget(em);
  if (target) return (await mysqlQuery(target, sql, params)) as T[];
  return em.query(sql, bindable(em, params));
}

/** The part of mysql2's callback API (pool or connection) the statements use. */
interface MysqlQueryable {
  query(sql: string, params: readonly unknown[], done: (err: Error | null, result: unknown) => void): void;
}

/**
 * On MySQL, where a statement of `em` goes: the transaction's own connection, or the pool outside
 * one — the connections TypeORM opened, with their session setup and type casting, so the same
 * rows and results. It skips the query runner TypeORM wraps around every statement (two event
 * broadcasts, a query log call, a result wrapper copying the rows; docs/performance.md). Errors
 * are mysql2's own (`code`, `errno`), which every error check here reads. undefined: let TypeORM
 * run it (SQLite; a runner not connected yet).
 */
function mysqlTarget(em: EntityManager): MysqlQueryable | undefined {
  if (em.connection.options.type !== 'mysql') return undefined;
  const qr = em.queryRunner;
  if (!qr) return (em.connection.driver as unknown as { pool?: MysqlQueryable }).pool;
  if (qr.isReleased) throw new QueryRunnerAlreadyReleasedError();
  return (qr as unknown as { databaseConnection?: MysqlQueryable }).databaseConnection;
}

function mysqlQuery(target: MysqlQueryable, sql: string, params: readonly unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => target.query(sql, params, (err, result) => (err ? reject(err) : resolve(result))));
}

/**
 * better-sqlite3 binds neither Date nor boolean: datetimes become the UTC text TypeORM itself
 * stores ('YYYY-MM-DD HH:MM:SS.SSS', which also compares correctly as text), booleans 1/0.
 * mysql2 formats Dates itself (timezone 'Z').
 */
function bindable(em: EntityManager, params: unknown[]): unknown[] {
  if (em.connection.options.type === 'mysql') return params;
  return params.map((p) =>
    p instanceof Date ? p.toISOString().replace('T', ' ').replace('Z', '') : typeof p === 'boolean' ? (p ? 1 : 0) : p,
  );
}

/** A datetime column as raw SQL reads it: a Date on MySQL, UTC text on SQLite (`toDate` reads both). */
export type SqlDateTime = Date | string;

/** A datetime read by raw SQL: a Date on MySQL, UTC text on SQLite. */
export function toDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v;
  // Neither driver returns anything else for a datetime column: any other value is no date.
  if (typeof v !== 'string' && typeof v !== 'number') return new Date(Number.NaN);
  const s = String(v);
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
}
