import type { DataSource, Migration } from 'typeorm';

export const MIGRATION_LOCK = 'image_classifier_migrations';

/**
 * Runs pending migrations once even when several processes start together: on MySQL under
 * GET_LOCK (held on its own connection while the migrations run on others).
 */
export async function runMigrationsLocked(dataSource: DataSource, lockTimeoutSeconds = 120): Promise<Migration[]> {
  if (dataSource.options.type !== 'mysql') return dataSource.runMigrations({ transaction: 'each' });
  const qr = dataSource.createQueryRunner();
  await qr.connect();
  try {
    const [row] = (await qr.query('SELECT GET_LOCK(?, ?) AS l', [MIGRATION_LOCK, lockTimeoutSeconds])) as Array<{
      l: number | string | null;
    }>;
    if (Number(row.l) !== 1) throw new Error(`could not take the migration lock within ${lockTimeoutSeconds}s`);
    try {
      return await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await qr.query('SELECT RELEASE_LOCK(?)', [MIGRATION_LOCK]);
    }
  } finally {
    await qr.release();
  }
}
