import { MigrationInterface, QueryRunner } from 'typeorm';
import { MysqlSchema } from '../mysql-schema';

/**
 * Refunds and reconciliation (docs/ops.md): `payment_refunds`, one row per refund we ask WeChat Pay for
 * (refund_no = out_refund_no, request_id = the admin's idempotency key, both unique), and
 * `reconciliation_runs`, one row per bill date, claimed by the process that runs the daily
 * comparison. New tables only: nothing the old service reads changes, so rollback stays possible.
 * MySQL inspects information_schema (no MariaDB-only syntax) and states utf8mb4_unicode_ci.
 */
export class PaymentRefunds1735000000000 implements MigrationInterface {
  name = 'PaymentRefunds1735000000000';

  async up(qr: QueryRunner): Promise<void> {
    if (qr.connection.options.type === 'mysql') await this.upMysql(new MysqlSchema(qr));
    else await this.upSqlite(qr);
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of ['reconciliation_runs', 'payment_refunds']) await qr.query(`DROP TABLE IF EXISTS ${t}`);
  }

  private async upMysql(s: MysqlSchema): Promise<void> {
    const T = MysqlSchema.TABLE_OPTIONS;
    await s.createTableIfMissing(
      'payment_refunds',
      `CREATE TABLE payment_refunds (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        refund_no VARCHAR(64) NOT NULL,
        request_id VARCHAR(128) NOT NULL,
        order_no VARCHAR(64) NOT NULL,
        openid VARCHAR(64) NOT NULL,
        amount_fen INT NOT NULL,
        total_fen INT NOT NULL,
        status VARCHAR(16) NOT NULL DEFAULT 'pending',
        pay_version VARCHAR(8) NULL DEFAULT NULL,
        wx_refund_id VARCHAR(64) NULL DEFAULT NULL,
        note VARCHAR(255) NULL DEFAULT NULL,
        credits_due INT NULL DEFAULT NULL,
        credits_taken INT NULL DEFAULT NULL,
        failure_reason VARCHAR(255) NULL DEFAULT NULL,
        raw TEXT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        completed_at TIMESTAMP NULL DEFAULT NULL,
        last_queried_at TIMESTAMP NULL DEFAULT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uk_refund_no (refund_no),
        UNIQUE KEY uk_request_id (request_id),
        KEY idx_order_no (order_no),
        KEY idx_status_created (status, created_at)
      ) ${T}`,
    );
    await s.createTableIfMissing(
      'reconciliation_runs',
      `CREATE TABLE reconciliation_runs (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        bill_date VARCHAR(10) NOT NULL,
        status VARCHAR(16) NOT NULL,
        claim_token VARCHAR(64) NULL DEFAULT NULL,
        lease_until TIMESTAMP NULL DEFAULT NULL,
        started_at TIMESTAMP NULL DEFAULT NULL,
        finished_at TIMESTAMP NULL DEFAULT NULL,
        differences INT NULL DEFAULT NULL,
        detail TEXT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uk_bill_date (bill_date)
      ) ${T}`,
    );
  }

  private async upSqlite(qr: QueryRunner): Promise<void> {
    const NOW = "(strftime('%Y-%m-%d %H:%M:%f','now'))";
    const statements = [
      `CREATE TABLE IF NOT EXISTS payment_refunds (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        refund_no VARCHAR(64) NOT NULL UNIQUE,
        request_id VARCHAR(128) NOT NULL UNIQUE,
        order_no VARCHAR(64) NOT NULL,
        openid VARCHAR(64) NOT NULL,
        amount_fen INTEGER NOT NULL,
        total_fen INTEGER NOT NULL,
        status VARCHAR(16) NOT NULL DEFAULT 'pending',
        pay_version VARCHAR(8) NULL,
        wx_refund_id VARCHAR(64) NULL,
        note VARCHAR(255) NULL,
        credits_due INTEGER NULL,
        credits_taken INTEGER NULL,
        failure_reason VARCHAR(255) NULL,
        raw TEXT NULL,
        created_at DATETIME NOT NULL DEFAULT ${NOW},
        completed_at DATETIME NULL,
        last_queried_at DATETIME NULL
      )`,
      `CREATE INDEX IF NOT EXISTS idx_refunds_order_no ON payment_refunds (order_no)`,
      `CREATE INDEX IF NOT EXISTS idx_refunds_status_created ON payment_refunds (status, created_at)`,
      `CREATE TABLE IF NOT EXISTS reconciliation_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        bill_date VARCHAR(10) NOT NULL UNIQUE,
        status VARCHAR(16) NOT NULL,
        claim_token VARCHAR(64) NULL,
        lease_until DATETIME NULL,
        started_at DATETIME NULL,
        finished_at DATETIME NULL,
        differences INTEGER NULL,
        detail TEXT NULL
      )`,
    ];
    for (const sql of statements) await qr.query(sql);
  }
}
