import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/load-config';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { runMigrationsLocked } from '../../src/database/migrate';
import { MIGRATIONS } from '../../src/database/migrations';
import { ENTITIES } from '../../src/entities';
import { mysqlEnabled } from '../setup/mysql';
import { tempDir, TestDatabase } from '../setup/test-app';

const describeMysql = mysqlEnabled() ? describe : describe.skip;

/**
 * Several processes starting together on an empty database (a deploy of two hosts, WORKERS with a
 * restart): each runs the migrations under one MySQL lock, so every migration is applied once.
 * The lock has a connection of its own, so it holds even where each process has a pool of one.
 */
describeMysql('the migration lock [mysql]', () => {
  let db: TestDatabase;
  const sources: DataSource[] = [];

  beforeAll(async () => {
    db = await TestDatabase.create('mysql');
  });

  afterAll(async () => {
    for (const s of sources) if (s.isInitialized) await s.destroy();
    await db?.drop();
  });

  it('three processes migrating one empty database at once apply each migration exactly once', async () => {
    const config = loadConfig({ ...db.env, MYSQL_POOL_SIZE: '1' }, { cwd: tempDir() });
    for (let i = 0; i < 3; i++) sources.push(await new DataSource(buildDataSourceOptions(config, ENTITIES)).initialize());
    const applied = await Promise.all(sources.map((s) => runMigrationsLocked(s)));
    const names = applied
      .flat()
      .map((m) => m.name)
      .sort();
    expect(names).toEqual(MIGRATIONS.map((m) => m.name).sort());
    const rows = await sources[0].query('SELECT name FROM typeorm_migrations ORDER BY name');
    expect(rows.map((r: { name: string }) => r.name)).toEqual(names);
    expect(await Promise.all(sources.map((s) => runMigrationsLocked(s)))).toEqual([[], [], []]);
  });
});
