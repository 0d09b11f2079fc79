import { MigrationInterface, QueryRunner } from 'typeorm';
import { MysqlSchema } from '../mysql-schema';

/**
 * Per-user, unambiguous, byte-exact task keys for consume/refund ledger entries (docs/limits.md
 * "Orders and credits"). The old key was the ref `task_type:task_id`, shared by every user, ambiguous
 * (`x:y`+`Z` = `x`+`y:Z`) and case/accent-insensitive on MySQL (utf8mb4_unicode_ci).
 *
 * New nullable columns `task_type`, `task_id` in the binary collation (MySQL; SQLite compares bytes
 * already) and UNIQUE (reason, task_type, task_id, openid): one consume and one refund per task of
 * each user. New entries get a hashed ref (CreditsService) so UNIQUE (reason, ref) no longer spans
 * users. Existing consume/refund entries keep their row and ref; their columns are backfilled by
 * splitting the ref at its first ':' (what every service before this one wrote), so a task consumed
 * before the upgrade is still found by its owner's refund and repeat. `task_id` is 128 wide because a
 * split of an old ref may leave more than 64 characters. Other rows and tables are untouched.
 */
export class CreditTaskKeys1740000000000 implements MigrationInterface {
  name = 'CreditTaskKeys1740000000000';

  async up(qr: QueryRunner): Promise<void> {
    if (qr.connection.options.type === 'mysql') await this.upMysql(new MysqlSchema(qr));
    else await this.upSqlite(qr);
  }

  async down(qr: QueryRunner): Promise<void> {
    if (qr.connection.options.type === 'mysql') {
      const s = new MysqlSchema(qr);
      await s.dropIndexIfPresent('credit_ledger', 'uk_reason_task');
      await s.dropColumnIfPresent('credit_ledger', 'task_id');
      await s.dropColumnIfPresent('credit_ledger', 'task_type');
    } else {
      await qr.query('DROP INDEX IF EXISTS uk_ledger_reason_task');
      for (const c of ['task_id', 'task_type'])
        if (await sqliteHasColumn(qr, 'credit_ledger', c)) await qr.query(`ALTER TABLE credit_ledger DROP COLUMN ${c}`);
    }
  }

  private async upMysql(s: MysqlSchema): Promise<void> {
    const BIN = 'CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL DEFAULT NULL';
    await s.addColumnIfMissing('credit_ledger', 'task_type', `VARCHAR(32) ${BIN}`);
    await s.addColumnIfMissing('credit_ledger', 'task_id', `VARCHAR(128) ${BIN}`);
    await s.query(
      `UPDATE credit_ledger SET task_type = SUBSTRING_INDEX(ref, ':', 1), task_id = SUBSTRING(ref, LOCATE(':', ref) + 1)
        WHERE reason IN ('consume', 'refund') AND task_type IS NULL AND LOCATE(':', ref) > 1`,
    );
    if (!(await s.indexExists('credit_ledger', 'uk_reason_task'))) {
      await s.query('ALTER TABLE credit_ledger ADD UNIQUE KEY uk_reason_task (reason, task_type, task_id, openid)');
    }
  }

  private async upSqlite(qr: QueryRunner): Promise<void> {
    if (!(await sqliteHasColumn(qr, 'credit_ledger', 'task_type')))
      await qr.query('ALTER TABLE credit_ledger ADD COLUMN task_type VARCHAR(32) NULL');
    if (!(await sqliteHasColumn(qr, 'credit_ledger', 'task_id')))
      await qr.query('ALTER TABLE credit_ledger ADD COLUMN task_id VARCHAR(128) NULL');
    await qr.query(
      `UPDATE credit_ledger SET task_type = substr(ref, 1, instr(ref, ':') - 1), task_id = substr(ref, instr(ref, ':') + 1)
        WHERE reason IN ('consume', 'refund') AND task_type IS NULL AND instr(ref, ':') > 1`,
    );
    await qr.query('CREATE UNIQUE INDEX IF NOT EXISTS uk_ledger_reason_task ON credit_ledger (reason, task_type, task_id, openid)');
  }
}

async function sqliteHasColumn(qr: QueryRunner, table: string, column: string): Promise<boolean> {
  const cols = (await qr.query(`PRAGMA table_info(${table})`)) as Array<{ name: string }>;
  return cols.some((c) => c.name === column);
}
