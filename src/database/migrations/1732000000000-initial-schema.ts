import { MigrationInterface, QueryRunner } from 'typeorm';
import { MysqlSchema } from '../mysql-schema';

/**
 * The first migration builds an empty database AND upgrades the customer's existing one
 * (`legacy-schema.sql`): every step checks what is there (information_schema on MySQL, never
 * MariaDB-only syntax) so it never loses or changes a legacy row, and a re-run after a partial
 * failure completes the work (MySQL DDL is not transactional).
 *
 * Legacy backfill: amount_fen from amount, opening_balance ledger entry = remaining_credits per
 * existing user, subscribed=1, member_lifetime=1 for members, legacy_scene=1 on bindings.
 */
export class InitialSchema1732000000000 implements MigrationInterface {
  name = 'InitialSchema1732000000000';

  async up(qr: QueryRunner): Promise<void> {
    if (qr.connection.options.type === 'mysql') await this.upMysql(new MysqlSchema(qr));
    else await this.upSqlite(qr);
  }

  async down(qr: QueryRunner): Promise<void> {
    if (qr.connection.options.type === 'mysql') await this.downMysql(new MysqlSchema(qr));
    else for (const t of ALL_TABLES) await qr.query(`DROP TABLE IF EXISTS ${t}`);
  }

  private async upMysql(s: MysqlSchema): Promise<void> {
    const T = MysqlSchema.TABLE_OPTIONS;
    // --- legacy tables: created in their legacy shape when missing, then upgraded like a legacy DB.
    await s.createTableIfMissing(
      'wechat_users',
      `CREATE TABLE wechat_users (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        openid VARCHAR(64) NOT NULL,
        unionid VARCHAR(64) DEFAULT NULL,
        is_member TINYINT(1) DEFAULT 0,
        member_expire_at TIMESTAMP NULL DEFAULT NULL,
        total_paid_amount DECIMAL(10,2) DEFAULT 0,
        nickname VARCHAR(128) DEFAULT NULL,
        avatar_url VARCHAR(512) DEFAULT NULL,
        total_credits INT UNSIGNED DEFAULT 0,
        used_credits INT UNSIGNED DEFAULT 0,
        remaining_credits INT UNSIGNED DEFAULT 0,
        subscribe_time TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP,
        last_active_time TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP,
        created_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP,
        updated_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
        PRIMARY KEY (id),
        UNIQUE KEY uk_openid (openid),
        KEY idx_last_active (last_active_time)
      ) ${T}`,
    );
    await s.createTableIfMissing(
      'credits_usage',
      `CREATE TABLE credits_usage (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        openid VARCHAR(64) NOT NULL,
        task_id VARCHAR(64) NOT NULL,
        task_type VARCHAR(32) NOT NULL,
        credits_used INT UNSIGNED DEFAULT 1,
        request_image_count INT UNSIGNED DEFAULT 1,
        success_image_count INT UNSIGNED DEFAULT 1,
        created_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP,
        PRIMARY KEY (id),
        KEY idx_openid (openid),
        KEY idx_task_id (task_id),
        KEY idx_created_at (created_at)
      ) ${T}`,
    );
    await s.createTableIfMissing(
      'wechat_qrcode_bindings',
      `CREATE TABLE wechat_qrcode_bindings (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        client_id VARCHAR(128) NOT NULL,
        scene_id INT NOT NULL DEFAULT 0,
        openid VARCHAR(64) DEFAULT NULL,
        status ENUM('pending','completed','expired') DEFAULT 'pending',
        created_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP,
        completed_at TIMESTAMP NULL DEFAULT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uk_client_id (client_id),
        KEY idx_scene_id (scene_id),
        KEY idx_openid (openid),
        KEY idx_status (status)
      ) ${T}`,
    );
    await s.createTableIfMissing(
      'payment_orders',
      `CREATE TABLE payment_orders (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        order_no VARCHAR(64) NOT NULL,
        openid VARCHAR(64) NOT NULL,
        order_type ENUM('member','credits') NOT NULL,
        amount DECIMAL(10,2) NOT NULL,
        credits_amount INT DEFAULT NULL,
        status ENUM('pending','paid','refunded','failed') DEFAULT 'pending',
        wx_payment_no VARCHAR(64) DEFAULT NULL,
        wx_transaction_id VARCHAR(64) DEFAULT NULL,
        created_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP,
        paid_at TIMESTAMP NULL DEFAULT NULL,
        expire_at TIMESTAMP NULL DEFAULT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uk_order_no (order_no),
        KEY idx_openid (openid),
        KEY idx_status (status),
        KEY idx_created_at (created_at)
      ) ${T}`,
    );
    await s.createTableIfMissing(
      'payment_records',
      `CREATE TABLE payment_records (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        order_no VARCHAR(64) NOT NULL,
        openid VARCHAR(64) NOT NULL,
        transaction_id VARCHAR(64) NOT NULL,
        amount DECIMAL(10,2) NOT NULL,
        payment_method VARCHAR(32) DEFAULT 'wechat_pay',
        payment_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        notify_data TEXT,
        created_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP,
        PRIMARY KEY (id),
        UNIQUE KEY uk_transaction_id (transaction_id),
        KEY idx_order_no (order_no),
        KEY idx_openid (openid),
        KEY idx_payment_time (payment_time)
      ) ${T}`,
    );

    // --- wechat_users: new columns (defaulted, so the old service can still insert rows).
    // `subscribed` defaults to 1: every existing user followed the account (backfill by default).
    await s.addColumnIfMissing('wechat_users', 'subscribed', 'TINYINT(1) NOT NULL DEFAULT 1');
    await s.addColumnIfMissing('wechat_users', 'unsubscribed_at', 'TIMESTAMP NULL DEFAULT NULL');
    await s.addColumnIfMissing('wechat_users', 'member_lifetime', 'TINYINT(1) NOT NULL DEFAULT 0');
    // Existing members were sold "lifetime". Idempotent: a re-run marks the same rows. The legacy
    // columns `ON UPDATE CURRENT_TIMESTAMP` must keep their values: assign them to themselves.
    await s.query(
      'UPDATE wechat_users SET member_lifetime = 1, last_active_time = last_active_time, updated_at = updated_at WHERE is_member = 1 AND member_lifetime = 0',
    );
    // Credits are granted through the ledger now, never by a column default (legacy default 100).
    await s.query('ALTER TABLE wechat_users ALTER COLUMN total_credits SET DEFAULT 0, ALTER COLUMN remaining_credits SET DEFAULT 0');

    // --- bindings: mark the old service's rows (they answer to their permanent integer scene).
    // Unconditional: no row of the new service can exist before this migration is recorded, and a
    // re-run after a failure between the two statements must still mark them.
    await s.addColumnIfMissing('wechat_qrcode_bindings', 'legacy_scene', 'TINYINT(1) NOT NULL DEFAULT 0');
    await s.query('UPDATE wechat_qrcode_bindings SET legacy_scene = 1 WHERE legacy_scene = 0');

    // --- payment_orders: fen, protocol version, lifecycle columns, and the `closed` status.
    await s.addColumnIfMissing('payment_orders', 'amount_fen', 'INT NULL DEFAULT NULL');
    await s.addColumnIfMissing('payment_orders', 'pay_version', 'VARCHAR(8) NULL DEFAULT NULL');
    await s.addColumnIfMissing('payment_orders', 'prepay_id', 'VARCHAR(128) NULL DEFAULT NULL');
    await s.addColumnIfMissing('payment_orders', 'closed_at', 'TIMESTAMP NULL DEFAULT NULL');
    await s.addColumnIfMissing('payment_orders', 'failure_reason', 'VARCHAR(255) NULL DEFAULT NULL');
    await s.addColumnIfMissing('payment_orders', 'last_queried_at', 'TIMESTAMP NULL DEFAULT NULL');
    if (!(await s.columnType('payment_orders', 'status')).includes("'closed'")) {
      await s.query(
        "ALTER TABLE payment_orders MODIFY status ENUM('pending','paid','refunded','failed','closed') " +
          "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci DEFAULT 'pending'",
      );
    }
    await s.query('UPDATE payment_orders SET amount_fen = ROUND(amount * 100) WHERE amount_fen IS NULL');
    await s.addIndexIfMissing('payment_orders', 'idx_status_expire', '(status, expire_at)');

    // --- new tables.
    await s.createTableIfMissing(
      'credit_ledger',
      `CREATE TABLE credit_ledger (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        openid VARCHAR(64) NOT NULL,
        delta INT NOT NULL,
        balance_after INT NOT NULL,
        reason VARCHAR(32) NOT NULL,
        ref VARCHAR(128) NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        PRIMARY KEY (id),
        UNIQUE KEY uk_reason_ref (reason, ref),
        KEY idx_openid_id (openid, id)
      ) ${T}`,
    );
    await s.createTableIfMissing(
      'wechat_qr_scenes',
      `CREATE TABLE wechat_qr_scenes (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        scene_str VARCHAR(64) NOT NULL,
        client_id VARCHAR(128) NOT NULL,
        ticket VARCHAR(255) NOT NULL,
        qrcode_content VARCHAR(255) NOT NULL,
        expire_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        PRIMARY KEY (id),
        UNIQUE KEY uk_scene_str (scene_str),
        KEY idx_client_expire (client_id, expire_at),
        KEY idx_expire (expire_at)
      ) ${T}`,
    );
    await s.createTableIfMissing(
      'wechat_access_tokens',
      `CREATE TABLE wechat_access_tokens (
        appid VARCHAR(64) NOT NULL,
        access_token VARCHAR(1024) NULL DEFAULT NULL,
        expires_at TIMESTAMP NULL DEFAULT NULL,
        refreshing_until TIMESTAMP NULL DEFAULT NULL,
        updated_at TIMESTAMP NULL DEFAULT NULL,
        PRIMARY KEY (appid)
      ) ${T}`,
    );
    await s.createTableIfMissing(
      'wechat_callback_nonces',
      `CREATE TABLE wechat_callback_nonces (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        timestamp BIGINT NOT NULL,
        nonce VARCHAR(64) NOT NULL,
        body_sha256 CHAR(64) NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        PRIMARY KEY (id),
        UNIQUE KEY uk_timestamp_nonce (timestamp, nonce),
        KEY idx_created_at (created_at)
      ) ${T}`,
    );
    await s.createTableIfMissing(
      'payment_anomalies',
      `CREATE TABLE payment_anomalies (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        order_no VARCHAR(64) NOT NULL,
        kind VARCHAR(32) NOT NULL,
        detail TEXT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        PRIMARY KEY (id),
        KEY idx_created_at (created_at),
        KEY idx_order_no (order_no)
      ) ${T}`,
    );

    // --- ledger opening balances: every existing user, even at zero (it also marks them as
    // having had their initial grant). UNIQUE (reason, ref) makes a re-run insert nothing.
    await s.query(
      `INSERT IGNORE INTO credit_ledger (openid, delta, balance_after, reason, ref, created_at)
       SELECT openid, remaining_credits, remaining_credits, 'opening_balance', openid, UTC_TIMESTAMP()
       FROM wechat_users`,
    );
  }

  private async downMysql(s: MysqlSchema): Promise<void> {
    for (const t of NEW_TABLES) await s.query(`DROP TABLE IF EXISTS ${t}`);
    await s.query("UPDATE payment_orders SET status = 'failed' WHERE status = 'closed'");
    await s.query(
      "ALTER TABLE payment_orders MODIFY status ENUM('pending','paid','refunded','failed') " +
        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci DEFAULT 'pending'",
    );
    for (const c of ['amount_fen', 'pay_version', 'prepay_id', 'closed_at', 'failure_reason', 'last_queried_at']) {
      await s.dropColumnIfPresent('payment_orders', c);
    }
    await s.dropIndexIfPresent('payment_orders', 'idx_status_expire');
    await s.dropColumnIfPresent('wechat_qrcode_bindings', 'legacy_scene');
    for (const c of ['subscribed', 'unsubscribed_at', 'member_lifetime']) await s.dropColumnIfPresent('wechat_users', c);
  }

  private async upSqlite(qr: QueryRunner): Promise<void> {
    // Datetimes are UTC text 'YYYY-MM-DD HH:MM:SS.SSS' (what TypeORM writes), so defaults match.
    const NOW = "(strftime('%Y-%m-%d %H:%M:%f','now'))";
    const statements = [
      `CREATE TABLE IF NOT EXISTS wechat_users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        openid VARCHAR(64) NOT NULL UNIQUE,
        unionid VARCHAR(64) NULL,
        is_member INTEGER NOT NULL DEFAULT 0,
        member_expire_at DATETIME NULL,
        member_lifetime INTEGER NOT NULL DEFAULT 0,
        total_paid_amount DECIMAL(10,2) NOT NULL DEFAULT 0,
        nickname VARCHAR(128) NULL,
        avatar_url VARCHAR(512) NULL,
        total_credits INTEGER NOT NULL DEFAULT 0 CHECK (total_credits >= 0),
        used_credits INTEGER NOT NULL DEFAULT 0 CHECK (used_credits >= 0),
        remaining_credits INTEGER NOT NULL DEFAULT 0 CHECK (remaining_credits >= 0),
        subscribed INTEGER NOT NULL DEFAULT 1,
        subscribe_time DATETIME NULL DEFAULT ${NOW},
        unsubscribed_at DATETIME NULL,
        last_active_time DATETIME NULL DEFAULT ${NOW},
        created_at DATETIME NULL DEFAULT ${NOW},
        updated_at DATETIME NULL DEFAULT ${NOW}
      )`,
      `CREATE INDEX IF NOT EXISTS idx_users_last_active ON wechat_users (last_active_time)`,
      `CREATE TABLE IF NOT EXISTS credits_usage (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        openid VARCHAR(64) NOT NULL,
        task_id VARCHAR(64) NOT NULL,
        task_type VARCHAR(32) NOT NULL,
        credits_used INTEGER NOT NULL DEFAULT 1,
        request_image_count INTEGER NOT NULL DEFAULT 1,
        success_image_count INTEGER NOT NULL DEFAULT 1,
        created_at DATETIME NULL DEFAULT ${NOW}
      )`,
      `CREATE INDEX IF NOT EXISTS idx_usage_openid ON credits_usage (openid)`,
      `CREATE INDEX IF NOT EXISTS idx_usage_task_id ON credits_usage (task_id)`,
      `CREATE TABLE IF NOT EXISTS wechat_qrcode_bindings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        client_id VARCHAR(128) NOT NULL UNIQUE,
        scene_id INTEGER NOT NULL DEFAULT 0,
        openid VARCHAR(64) NULL,
        status VARCHAR(16) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','completed','expired')),
        legacy_scene INTEGER NOT NULL DEFAULT 0,
        created_at DATETIME NULL DEFAULT ${NOW},
        completed_at DATETIME NULL
      )`,
      `CREATE INDEX IF NOT EXISTS idx_bindings_openid ON wechat_qrcode_bindings (openid)`,
      `CREATE TABLE IF NOT EXISTS payment_orders (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        order_no VARCHAR(64) NOT NULL UNIQUE,
        openid VARCHAR(64) NOT NULL,
        order_type VARCHAR(16) NOT NULL CHECK (order_type IN ('member','credits')),
        amount DECIMAL(10,2) NOT NULL,
        amount_fen INTEGER NULL,
        credits_amount INTEGER NULL,
        status VARCHAR(16) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','paid','refunded','failed','closed')),
        pay_version VARCHAR(8) NULL,
        prepay_id VARCHAR(128) NULL,
        wx_payment_no VARCHAR(64) NULL,
        wx_transaction_id VARCHAR(64) NULL,
        failure_reason VARCHAR(255) NULL,
        created_at DATETIME NULL DEFAULT ${NOW},
        paid_at DATETIME NULL,
        expire_at DATETIME NULL,
        closed_at DATETIME NULL,
        last_queried_at DATETIME NULL
      )`,
      `CREATE INDEX IF NOT EXISTS idx_orders_openid ON payment_orders (openid)`,
      `CREATE INDEX IF NOT EXISTS idx_orders_status_expire ON payment_orders (status, expire_at)`,
      `CREATE TABLE IF NOT EXISTS payment_records (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        order_no VARCHAR(64) NOT NULL,
        openid VARCHAR(64) NOT NULL,
        transaction_id VARCHAR(64) NOT NULL UNIQUE,
        amount DECIMAL(10,2) NOT NULL,
        payment_method VARCHAR(32) NOT NULL DEFAULT 'wechat_pay',
        payment_time DATETIME NOT NULL,
        notify_data TEXT NULL,
        created_at DATETIME NULL DEFAULT ${NOW}
      )`,
      `CREATE INDEX IF NOT EXISTS idx_records_order_no ON payment_records (order_no)`,
      `CREATE TABLE IF NOT EXISTS credit_ledger (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        openid VARCHAR(64) NOT NULL,
        delta INTEGER NOT NULL,
        balance_after INTEGER NOT NULL,
        reason VARCHAR(32) NOT NULL,
        ref VARCHAR(128) NOT NULL,
        created_at DATETIME NOT NULL DEFAULT ${NOW},
        UNIQUE (reason, ref)
      )`,
      `CREATE INDEX IF NOT EXISTS idx_ledger_openid_id ON credit_ledger (openid, id)`,
      `CREATE TABLE IF NOT EXISTS wechat_qr_scenes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scene_str VARCHAR(64) NOT NULL UNIQUE,
        client_id VARCHAR(128) NOT NULL,
        ticket VARCHAR(255) NOT NULL,
        qrcode_content VARCHAR(255) NOT NULL,
        expire_at DATETIME NOT NULL,
        created_at DATETIME NOT NULL DEFAULT ${NOW}
      )`,
      `CREATE INDEX IF NOT EXISTS idx_scenes_client_expire ON wechat_qr_scenes (client_id, expire_at)`,
      `CREATE TABLE IF NOT EXISTS wechat_access_tokens (
        appid VARCHAR(64) NOT NULL PRIMARY KEY,
        access_token VARCHAR(1024) NULL,
        expires_at DATETIME NULL,
        refreshing_until DATETIME NULL,
        updated_at DATETIME NULL
      )`,
      `CREATE TABLE IF NOT EXISTS wechat_callback_nonces (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        timestamp INTEGER NOT NULL,
        nonce VARCHAR(64) NOT NULL,
        body_sha256 CHAR(64) NOT NULL,
        created_at DATETIME NOT NULL DEFAULT ${NOW},
        UNIQUE (timestamp, nonce)
      )`,
      `CREATE INDEX IF NOT EXISTS idx_nonces_created ON wechat_callback_nonces (created_at)`,
      `CREATE TABLE IF NOT EXISTS payment_anomalies (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        order_no VARCHAR(64) NOT NULL,
        kind VARCHAR(32) NOT NULL,
        detail TEXT NULL,
        created_at DATETIME NOT NULL DEFAULT ${NOW}
      )`,
      `CREATE INDEX IF NOT EXISTS idx_anomalies_created ON payment_anomalies (created_at)`,
    ];
    for (const sql of statements) await qr.query(sql);
  }
}

const NEW_TABLES = ['credit_ledger', 'wechat_qr_scenes', 'wechat_access_tokens', 'wechat_callback_nonces', 'payment_anomalies'];
const ALL_TABLES = [...NEW_TABLES, 'wechat_users', 'credits_usage', 'wechat_qrcode_bindings', 'payment_orders', 'payment_records'];
