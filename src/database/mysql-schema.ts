import { QueryRunner } from 'typeorm';

/**
 * Schema inspection for MySQL 8 and MariaDB alike: information_schema instead of MariaDB-only
 * `IF NOT EXISTS` column syntax, so one migration runs in production (MySQL 8) and CI (MariaDB).
 */
export class MysqlSchema {
  /** Every table and column explicitly utf8mb4_unicode_ci: the legacy collation (joins fail with 1267 otherwise). */
  static readonly TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

  constructor(private readonly qr: QueryRunner) {}

  query(sql: string, params?: unknown[]): Promise<unknown> {
    return this.qr.query(sql, params);
  }

  async tableExists(table: string): Promise<boolean> {
    const rows = (await this.qr.query(
      'SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
      [table],
    )) as Array<{ n: number | string }>;
    return Number(rows[0].n) > 0;
  }

  async columnType(table: string, column: string): Promise<string> {
    const rows = (await this.qr.query(
      'SELECT column_type AS t FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?',
      [table, column],
    )) as Array<{ t: string }>;
    return rows.length ? String(rows[0].t) : '';
  }

  async indexExists(table: string, index: string): Promise<boolean> {
    const rows = (await this.qr.query(
      'SELECT COUNT(*) AS n FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?',
      [table, index],
    )) as Array<{ n: number | string }>;
    return Number(rows[0].n) > 0;
  }

  async createTableIfMissing(table: string, ddl: string): Promise<boolean> {
    if (await this.tableExists(table)) return false;
    await this.qr.query(ddl);
    return true;
  }

  /** Returns true when the column was added by this call. */
  async addColumnIfMissing(table: string, column: string, definition: string): Promise<boolean> {
    if (await this.columnType(table, column)) return false;
    await this.qr.query(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
    return true;
  }

  async addIndexIfMissing(table: string, index: string, columns: string): Promise<void> {
    if (!(await this.indexExists(table, index))) await this.qr.query(`ALTER TABLE ${table} ADD INDEX ${index} ${columns}`);
  }

  async dropColumnIfPresent(table: string, column: string): Promise<void> {
    if (await this.columnType(table, column)) await this.qr.query(`ALTER TABLE ${table} DROP COLUMN ${column}`);
  }

  async dropIndexIfPresent(table: string, index: string): Promise<void> {
    if (await this.indexExists(table, index)) await this.qr.query(`ALTER TABLE ${table} DROP INDEX ${index}`);
  }
}
