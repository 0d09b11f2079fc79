import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import type { Connection } from 'mysql2/promise';
import type { DataSource } from 'typeorm';
import { AppConfig } from '../../src/config/app-config';
import { loadConfig } from '../../src/config/load-config';
import { Query } from '../setup/invariants';
import { mysqlAdmin } from '../setup/mysql';
import { baseEnv, Env, freePort, spawnApp, SpawnedApp, tempDir } from '../setup/test-app';
import { BuiltNotification } from '../support/pay-notifications';
import { insertOrder } from '../support/seed';

/**
 * Shared by the resilience suites (docs/quality.md "Faults" and "Bad input"): the built service run as
 * its own process (so it can be killed, its memory read from /proc, its exit code checked), a
 * direct MySQL connection of the test's own (row locks, assertions), and small payment helpers.
 */

export type Json = Record<string, any>;

export interface Service {
  app: SpawnedApp;
  /** The configuration the process runs with (same env, same data dir): keys, ids, notify signing. */
  config: AppConfig;
  env: Env;
  url: string;
}

/**
 * Spawns `node dist/src/main.js` with `env` on a fixed port and data dir, so that a restart is the
 * same service (same sandbox keys, same URL) and the test can build the same AppConfig.
 */
export async function spawnService(env: Env, opts: { waitHealthy?: boolean; port?: number; dataDir?: string } = {}): Promise<Service> {
  const port = opts.port ?? (await freePort());
  const full = { ...env, APP_PORT: String(port), DATA_DIR: opts.dataDir ?? env.DATA_DIR ?? tempDir('wx-res-') };
  const app = await spawnApp(full, { waitHealthy: opts.waitHealthy ?? true, timeoutMs: 30_000 });
  const config = loadConfig(baseEnv(port, full), { cwd: full.DATA_DIR });
  return { app, config, env: full, url: app.url };
}

/** The same service again (after a kill or a stop): same port, data dir and environment. */
export function respawn(s: Service, opts: { waitHealthy?: boolean } = {}): Promise<Service> {
  return spawnService(s.env, { port: Number(s.env.APP_PORT), dataDir: s.env.DATA_DIR, waitHealthy: opts.waitHealthy });
}

export function isRunning(app: SpawnedApp): boolean {
  return app.proc.exitCode === null && app.proc.signalCode === null;
}

/** Resident memory of a process in MB (/proc/<pid>/status VmRSS). */
export function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export async function sql(conn: Connection, text: string, params: unknown[] = []): Promise<Json[]> {
  const [rows] = await conn.query(text, params);
  return rows as Json[];
}

export const queryOf =
  (conn: Connection): Query =>
  async (text) =>
    sql(conn, text);

/** insertOrder of test/support/seed.ts over a plain mysql2 connection. */
function asDataSource(conn: Connection): DataSource {
  return { options: { type: 'mysql' }, query: (text: string, params: unknown[]) => sql(conn, text, params) } as unknown as DataSource;
}

let seq = 0;
export const uid = (prefix: string) =>
  `${prefix}${Date.now().toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export interface SeededOrder {
  orderNo: string;
  openid: string;
  totalFen: number;
  credits: number;
  transactionId: string;
}

/** A following user with 0 credits (ledger-consistent) and a pending 10-credit order of 9.90. */
export async function seedOrder(conn: Connection, opts: { openid?: string } = {}): Promise<SeededOrder> {
  const openid = opts.openid ?? uid('oRes');
  await sql(
    conn,
    `INSERT IGNORE INTO wechat_users (openid, is_member, member_lifetime, total_paid_amount, total_credits, used_credits, remaining_credits,
       subscribed, subscribe_time, last_active_time, created_at, updated_at) VALUES (?, 0, 0, 0, 0, 0, 0, 1, NOW(), NOW(), NOW(), NOW())`,
    [openid],
  );
  const orderNo = `ORD${Date.now()}${uid('').slice(-8).toUpperCase()}`.slice(0, 32);
  await insertOrder(asDataSource(conn), { orderNo, openid, type: 'credits', amountFen: 990, credits: 10 });
  return { orderNo, openid, totalFen: 990, credits: 10, transactionId: uid('4200') };
}

export interface PaymentState {
  status: string;
  records: number;
  purchases: number;
  remaining: number;
}

export async function paymentState(conn: Connection, o: SeededOrder): Promise<PaymentState> {
  const [order] = await sql(conn, 'SELECT status FROM payment_orders WHERE order_no = ?', [o.orderNo]);
  const [r] = await sql(conn, 'SELECT COUNT(*) AS n FROM payment_records WHERE order_no = ?', [o.orderNo]);
  const [l] = await sql(conn, "SELECT COUNT(*) AS n FROM credit_ledger WHERE reason = 'purchase' AND ref = ?", [o.orderNo]);
  const [u] = await sql(conn, 'SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [o.openid]);
  return { status: String(order.status), records: Number(r.n), purchases: Number(l.n), remaining: Number(u.r) };
}

export const NOT_APPLIED: PaymentState = { status: 'pending', records: 0, purchases: 0, remaining: 0 };
export const APPLIED_ONCE: PaymentState = { status: 'paid', records: 1, purchases: 1, remaining: 10 };

/**
 * Waits until a connection of `database` is executing a statement that starts with `prefix`
 * (blocked on the test's row lock); resolves with its MySQL thread id. The machine's MariaDB is
 * shared, hence the filter on the database.
 */
export async function waitForStatement(conn: Connection, database: string, prefix: string, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await sql(conn, "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND = 'Query' AND INFO LIKE ?", [
      database,
      `${prefix}%`,
    ]);
    if (rows.length) return Number(rows[0].id);
    if (Date.now() > deadline) {
      const procs = await sql(
        conn,
        'SELECT ID, COMMAND, TIME, STATE, LEFT(INFO, 80) AS info FROM information_schema.PROCESSLIST WHERE DB = ?',
        [database],
      );
      throw new Error(`no connection of ${database} running "${prefix}…" after ${timeoutMs} ms; connections: ${JSON.stringify(procs)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until `count` connections of `database` are executing statements starting with `prefix`. */
export async function waitForStatements(
  conn: Connection,
  database: string,
  prefix: string,
  count: number,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sql(
      conn,
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND = 'Query' AND INFO LIKE ?",
      [database, `${prefix}%`],
    );
    if (Number(row.n) >= count) return;
    if (Date.now() > deadline)
      throw new Error(`only ${row.n} of ${count} connections of ${database} running "${prefix}…" after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True when another transaction holds a lock on the row (checked without waiting: NOWAIT). */
export async function rowLockedElsewhere(database: string, table: string, column: string, value: string): Promise<boolean> {
  const c = await mysqlAdmin(database);
  try {
    await c.query('START TRANSACTION');
    await c.query(`SELECT 1 FROM ${table} WHERE ${column} = ? FOR UPDATE NOWAIT`, [value]);
    return false;
  } catch (err) {
    if ((err as { errno?: number }).errno === 1205) return true;
    throw err;
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
    await c.end();
  }
}

/**
 * The statement a payment's transaction blocks on while the test holds the user row: the ledger's
 * balance update (the order row is already updated by then).
 */
export const USER_ROW_UPDATE = 'UPDATE wechat_users SET remaining_credits';

/** Open transactions of `database` other than the test's own connection. */
export async function openTransactions(conn: Connection, database: string): Promise<number> {
  const [row] = await sql(
    conn,
    `SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
      WHERE p.DB = ? AND t.trx_mysql_thread_id <> CONNECTION_ID()`,
    [database],
  );
  return Number(row.n);
}

/** Holds an exclusive lock on the user's row from the test's own connection until `release()`. */
export async function lockUserRow(database: string, openid: string): Promise<{ release(): Promise<void> }> {
  const conn = await mysqlAdmin(database);
  await conn.query('START TRANSACTION');
  await conn.query('SELECT id FROM wechat_users WHERE openid = ? FOR UPDATE', [openid]);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await conn.query('ROLLBACK').catch(() => undefined);
      await conn.end().catch(() => undefined);
    },
  };
}

export interface Answer {
  status: number;
  text: string;
  ms: number;
}

export async function sendNotification(url: string, n: BuiltNotification): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(`${url}/api/v1/payment/notify`, { method: 'POST', headers: n.headers, body: n.body });
  return { status: res.status, text: await res.text(), ms: Date.now() - started };
}

export const V2_SUCCESS = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';

export function accepted(version: 'v2' | 'v3', a: { status: number; text: string }): boolean {
  return version === 'v2' ? a.status === 200 && a.text === V2_SUCCESS : a.status === 204;
}

/** WeChat is told to retry: v2 HTTP 200 FAIL, v3 500 SYSTEM_ERROR. */
export function toldToRetry(version: 'v2' | 'v3', a: { status: number; text: string }): boolean {
  return version === 'v2'
    ? a.status === 200 && a.text.includes('<return_code><![CDATA[FAIL]]></return_code>') && a.text.includes('SYSTEM_ERROR')
    : a.status === 500 && a.text === JSON.stringify({ code: 'FAIL', message: 'SYSTEM_ERROR' });
}

/**
 * A raw HTTP request whose answer is read even when the server answers before the body is sent
 * (a 10 MB body is refused from its Content-Length; fetch would report the broken pipe instead).
 * `chunked` sends the body without Content-Length.
 */
export function rawPost(
  url: string,
  path: string,
  body: Buffer,
  opts: { headers?: Record<string, string>; chunked?: boolean; timeoutMs?: number } = {},
): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string | number> = { 'content-type': 'text/xml', ...opts.headers };
    if (!opts.chunked) headers['content-length'] = body.length;
    let answered = false;
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'POST', headers, agent: false }, (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, ms: Date.now() - started }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(new Error('timeout')));
    // The server may close the connection once it has answered: the answer is what counts.
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const chunk = 64 * 1024;
    let i = 0;
    const pump = () => {
      while (i < body.length) {
        const ok = req.write(body.subarray(i, i + chunk));
        i += chunk;
        if (!ok) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}
