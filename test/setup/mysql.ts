import { randomBytes } from 'node:crypto';
import { createConnection, Connection } from 'mysql2/promise';

/** The machine's MariaDB (README.md "Test it": 127.0.0.1:3306, root, empty password); tests create their own databases and drop them. */
export const MYSQL = {
  host: process.env.TEST_MYSQL_HOST ?? '127.0.0.1',
  port: Number(process.env.TEST_MYSQL_PORT ?? 3306),
  user: process.env.TEST_MYSQL_USER ?? 'root',
  password: process.env.TEST_MYSQL_PASSWORD ?? '',
};

export async function mysqlAdmin(database?: string, multipleStatements = false): Promise<Connection> {
  const conn = await createConnection({ ...MYSQL, database, multipleStatements, timezone: 'Z', connectTimeout: 3000, dateStrings: false });
  await conn.query("SET time_zone = '+00:00'");
  return conn;
}

export async function isMysqlReachable(): Promise<boolean> {
  try {
    const c = await mysqlAdmin();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/** Set by global-setup: '1' when MySQL suites run, '0' when they are skipped (never in CI). */
export function mysqlEnabled(): boolean {
  return process.env.TEST_MYSQL_ENABLED === '1';
}

export async function createTestDatabase(prefix = 't'): Promise<string> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`.replace(/[^a-z0-9_]/gi, '_');
  const c = await mysqlAdmin();
  try {
    await c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await c.end();
  }
  return name;
}

export async function dropTestDatabase(name: string): Promise<void> {
  const c = await mysqlAdmin();
  try {
    await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await c.end();
  }
}
