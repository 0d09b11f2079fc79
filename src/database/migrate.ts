import type { RowDataPacket } from 'mysql2';
import { createConnection } from 'mysql2/promise';
import type { DataSource, Migration } from 'typeorm';

export const MIGRATION_LOCK = 'image_classifier_migrations';

/**
 * Runs pending migrations once even when several processes start together: on MySQL under
 * GET_LOCK. The lock is held on a connection of its own, outside the pool, while the migrations
 * run on pooled ones: holding a pooled connection while waiting for another would stall a pool of
 * one (`MYSQL_POOL_SIZE=1`) at boot for good.
 */
export async function runMigrationsLocked(dataSource: DataSource, lockTimeoutSeconds = 120): Promise<Migration[]> {
  if (dataSource.options.type !== 'mysql') return dataSource.runMigrations({ transaction: 'each' });
  const o = dataSource.options;
  const lock = await createConnection({
    host: o.host,
    port: o.port,
    user: o.username,
    password: o.password,
    database: o.database,
    connectTimeout: o.connectTimeout,
  });
  try {
    const [[row]] = await lock.query<Array<RowDataPacket & { l: number | string | null }>>('SELECT GET_LOCK(?, ?) AS l', [
      MIGRATION_LOCK,
      lockTimeoutSeconds,
    ]);
    if (Number(row.l) !== 1) throw new Error(`could not take the migration lock within ${lockTimeoutSeconds}s`);
    try {
      return await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await lock.query('SELECT RELEASE_LOCK(?)', [MIGRATION_LOCK]);
    }
  } finally {
    await lock.end();
  }
}
