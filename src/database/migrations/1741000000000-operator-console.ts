import { MigrationInterface, QueryRunner } from 'typeorm';
import { MysqlSchema } from '../mysql-schema';

/**
 * The operator console (docs/operator-guide.md): `console_login_scenes`, one row per login QR code
 * (single use, two minutes); `console_audit`, one row per operator action with before/after JSON;
 * `job_runs`, the last run of each background job; and the resolution of `payment_anomalies`
 * (nullable columns added: nothing existing changes meaning, rollback stays possible).
 */
export class OperatorConsole1741000000000 implements MigrationInterface {
  name = 'OperatorConsole1741000000000';

  async up(qr: QueryRunner): Promise<void> {
    if (qr.connection.options.type === 'mysql') await this.upMysql(new MysqlSchema(qr));
    else await this.upSqlite(qr);
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of ['job_runs', 'console_audit', 'console_login_scenes']) await qr.query(`DROP TABLE IF EXISTS ${t}`);
    for (const c of ['resolved_at', 'resolved_by', 'resolution_note']) {
      if (qr.connection.options.type === 'mysql') await new MysqlSchema(qr).dropColumnIfPresent('payment_anomalies', c);
      else await qr.query(`ALTER TABLE payment_anomalies DROP COLUMN ${c}`);
    }
  }

  private async upMysql(s: MysqlSchema): Promise<void> {
    const T = MysqlSchema.TABLE_OPTIONS;
    await s.createTableIfMissing(
      'console_login_scenes',
      `CREATE TABLE console_login_scenes (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        scene_str VARCHAR(64) NOT NULL,
        poll_hash CHAR(64) NOT NULL,
        status VARCHAR(16) NOT NULL DEFAULT 'pending',
        openid VARCHAR(64) NULL DEFAULT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        expire_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        scanned_at TIMESTAMP NULL DEFAULT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uk_scene_str (scene_str),
        UNIQUE KEY uk_poll_hash (poll_hash),
        KEY idx_expire (expire_at)
      ) ${T}`,
    );
    await s.createTableIfMissing(
      'console_audit',
      `CREATE TABLE console_audit (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        operator_openid VARCHAR(64) NOT NULL,
        request_id VARCHAR(64) NOT NULL,
        action VARCHAR(32) NOT NULL,
        target VARCHAR(128) NULL DEFAULT NULL,
        before_json TEXT NULL,
        after_json TEXT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        PRIMARY KEY (id),
        KEY idx_created_at (created_at),
        KEY idx_target (target)
      ) ${T}`,
    );
    await s.createTableIfMissing(
      'job_runs',
      `CREATE TABLE job_runs (
        name VARCHAR(32) NOT NULL,
        started_at TIMESTAMP NULL DEFAULT NULL,
        finished_at TIMESTAMP NULL DEFAULT NULL,
        outcome VARCHAR(16) NOT NULL,
        detail VARCHAR(500) NULL DEFAULT NULL,
        PRIMARY KEY (name)
      ) ${T}`,
    );
    await s.addColumnIfMissing('payment_anomalies', 'resolved_at', 'TIMESTAMP NULL DEFAULT NULL');
    await s.addColumnIfMissing('payment_anomalies', 'resolved_by', 'VARCHAR(64) NULL DEFAULT NULL');
    await s.addColumnIfMissing('payment_anomalies', 'resolution_note', 'VARCHAR(500) NULL DEFAULT NULL');
  }

  private async upSqlite(qr: QueryRunner): Promise<void> {
    const NOW = "(strftime('%Y-%m-%d %H:%M:%f','now'))";
    const statements = [
      `CREATE TABLE IF NOT EXISTS console_login_scenes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scene_str VARCHAR(64) NOT NULL UNIQUE,
        poll_hash CHAR(64) NOT NULL UNIQUE,
        status VARCHAR(16) NOT NULL DEFAULT 'pending',
        openid VARCHAR(64) NULL,
        created_at DATETIME NOT NULL DEFAULT ${NOW},
        expire_at DATETIME NOT NULL DEFAULT ${NOW},
        scanned_at DATETIME NULL
      )`,
      `CREATE INDEX IF NOT EXISTS idx_console_login_expire ON console_login_scenes (expire_at)`,
      `CREATE TABLE IF NOT EXISTS console_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        operator_openid VARCHAR(64) NOT NULL,
        request_id VARCHAR(64) NOT NULL,
        action VARCHAR(32) NOT NULL,
        target VARCHAR(128) NULL,
        before_json TEXT NULL,
        after_json TEXT NULL,
        created_at DATETIME NOT NULL DEFAULT ${NOW}
      )`,
      `CREATE INDEX IF NOT EXISTS idx_console_audit_created ON console_audit (created_at)`,
      `CREATE INDEX IF NOT EXISTS idx_console_audit_target ON console_audit (target)`,
      `CREATE TABLE IF NOT EXISTS job_runs (
        name VARCHAR(32) NOT NULL PRIMARY KEY,
        started_at DATETIME NULL,
        finished_at DATETIME NULL,
        outcome VARCHAR(16) NOT NULL,
        detail VARCHAR(500) NULL
      )`,
    ];
    for (const sql of statements) await qr.query(sql);
    // SQLite has no ADD COLUMN IF NOT EXISTS: look first, so a re-run adds nothing.
    const cols = (await qr.query('PRAGMA table_info(payment_anomalies)')) as Array<{ name: string }>;
    const have = new Set(cols.map((c) => c.name));
    if (!have.has('resolved_at')) await qr.query('ALTER TABLE payment_anomalies ADD COLUMN resolved_at DATETIME NULL');
    if (!have.has('resolved_by')) await qr.query('ALTER TABLE payment_anomalies ADD COLUMN resolved_by VARCHAR(64) NULL');
    if (!have.has('resolution_note')) await qr.query('ALTER TABLE payment_anomalies ADD COLUMN resolution_note VARCHAR(500) NULL');
  }
}
