import * as mysql2 from 'mysql2';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { MIGRATIONS } from './migrations';

/**
 * mysql2 with every pooled connection set up once, before its first query (the `connection` event
 * fires before the connection is handed out, and a connection runs its queries in order):
 * - pinned to UTC: TIMESTAMP values are instants and mysql2 reads them with `timezone: 'Z'`;
 * - READ COMMITTED for every transaction it will run (see DatabaseService.transaction). Set here
 *   once per connection instead of a `SET TRANSACTION ISOLATION LEVEL` before each transaction,
 *   which was one round trip of every write (docs/performance.md).
 * Two statements: the variable behind the isolation level is spelled differently by MySQL 8 and
 * MariaDB, the SET TRANSACTION syntax is the same on both.
 */
export const MYSQL_SESSION_SETUP = ["SET time_zone = '+00:00'", 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED'];

const mysqlSessionDriver = {
  ...mysql2,
  createPool(options: mysql2.PoolOptions) {
    const pool = mysql2.createPool(options);
    pool.on('connection', (conn) => MYSQL_SESSION_SETUP.forEach((sql) => conn.query(sql)));
    return pool;
  },
};

/** The mapped entity classes, as TypeORM takes them. */
export type EntityList = NonNullable<DataSourceOptions['entities']>;

/**
 * The one place database options are built; `ormconfig.ts` (the TypeORM CLI) and the app both
 * call it. `synchronize` is never on: the schema belongs to the migrations. The entities come from
 * the caller (`src/entities.ts`): database/ knows no feature module.
 */
export function buildDataSourceOptions(config: AppConfig, entities: EntityList): DataSourceOptions {
  const common = {
    entities,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    logging: false,
  };
  if (config.db.type === 'mysql') {
    const m = config.db.mysql;
    return {
      ...common,
      type: 'mysql',
      driver: mysqlSessionDriver,
      connectorPackage: 'mysql2',
      host: m.host,
      port: m.port,
      username: m.user,
      password: m.password,
      database: m.database,
      charset: 'utf8mb4_unicode_ci',
      timezone: 'Z',
      poolSize: m.poolSize,
      connectTimeout: 5000,
      supportBigNumbers: true,
      bigNumberStrings: false,
      extra: { enableKeepAlive: true, maxIdle: m.poolSize, idleTimeout: 60000 },
    };
  }
  if (config.db.sqlitePath !== ':memory:') mkdirSync(dirname(config.db.sqlitePath), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: config.db.sqlitePath,
    enableWAL: true,
    prepareDatabase: (db: { pragma(s: string): unknown }) => {
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
    },
  };
}
