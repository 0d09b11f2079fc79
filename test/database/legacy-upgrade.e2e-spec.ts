import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { DatabaseService } from '../../src/database/database.service';
import { runMigrationsLocked } from '../../src/database/migrate';
import { expectInvariants } from '../setup/invariants';
import { mysqlAdmin, mysqlEnabled } from '../setup/mysql';
import { startApp, TestDatabase } from '../setup/test-app';

const describeMysql = mysqlEnabled() ? describe : describe.skip;
const LEGACY_TABLES = ['wechat_users', 'credits_usage', 'wechat_qrcode_bindings', 'payment_orders', 'payment_records'];
type Row = Record<string, unknown>;

async function snapshot(conn: Connection, tables: string[]): Promise<Record<string, Row[]>> {
  const out: Record<string, Row[]> = {};
  for (const t of tables) {
    const [rows] = await conn.query(`SELECT * FROM ${t} ORDER BY 1`);
    out[t] = rows as Row[];
  }
  return out;
}

async function allTables(conn: Connection): Promise<string[]> {
  const [rows] = await conn.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1');
  return (rows as Array<{ t: string }>).map((r) => r.t);
}

/**
 * docs/data.md "Existing production database": the first migration upgrades the customer's database
 * without losing or changing a legacy row, backfills, and a second run changes nothing.
 */
describeMysql('legacy database upgrade [mysql]', () => {
  let db: TestDatabase;
  let conn: Connection;
  let before: Record<string, Row[]>;

  beforeAll(async () => {
    db = await TestDatabase.create('mysql');
    const loader = await mysqlAdmin(db.mysqlName, true);
    await loader.query(readFileSync(join(__dirname, '../fixtures/legacy-schema.sql'), 'utf8'));
    await loader.end();
    conn = await mysqlAdmin(db.mysqlName);
    before = await snapshot(conn, LEGACY_TABLES);
    expect(before.wechat_users).toHaveLength(2);
    // Let the clock pass a second boundary: an UPDATE that fires the legacy tables'
    // `ON UPDATE CURRENT_TIMESTAMP` would then change last_active_time/updated_at visibly.
    await new Promise((r) => setTimeout(r, 1100));

    // The app migrates at boot, exactly as in production.
    const app = await startApp({ ...db.env });
    await app.close();
  });

  afterAll(async () => {
    await conn?.end();
    await db?.drop();
  });

  it('keeps every legacy row and every legacy value', async () => {
    const after = await snapshot(conn, LEGACY_TABLES);
    for (const table of LEGACY_TABLES) {
      expect(after[table]).toHaveLength(before[table].length);
      before[table].forEach((oldRow, i) => {
        const legacyPart = Object.fromEntries(Object.keys(oldRow).map((k) => [k, after[table][i][k]]));
        expect({ table, row: legacyPart }).toEqual({ table, row: oldRow });
      });
    }
    // Spot-check instants survived the +08:00 → UTC reading: 2025-12-19 12:46:29 Shanghai.
    expect((after.wechat_users[0].member_expire_at as Date).toISOString()).toBe('2025-12-19T04:46:29.000Z');
  });

  it('backfills amount_fen, subscribed, member_lifetime and legacy_scene', async () => {
    const [orders] = await conn.query('SELECT order_no, amount_fen, pay_version FROM payment_orders ORDER BY id');
    expect(orders).toEqual([
      { order_no: 'ORD20251119124629X7K2QA', amount_fen: 2990, pay_version: null },
      { order_no: 'ORD20251120090000AB12CD', amount_fen: 990, pay_version: null },
    ]);
    const [users] = await conn.query('SELECT openid, subscribed, member_lifetime FROM wechat_users ORDER BY id');
    expect(users).toEqual([
      { openid: 'oLEGACYmember000000000000001', subscribed: 1, member_lifetime: 1 },
      { openid: 'oLEGACYfollower0000000000002', subscribed: 1, member_lifetime: 0 },
    ]);
    const [bindings] = await conn.query('SELECT id, scene_id, legacy_scene FROM wechat_qrcode_bindings ORDER BY id');
    expect(bindings).toEqual([
      { id: 1, scene_id: 1, legacy_scene: 1 },
      { id: 2, scene_id: 2, legacy_scene: 1 },
    ]);
  });

  it('writes one opening_balance entry per existing user equal to their remaining credits', async () => {
    const [ledger] = await conn.query('SELECT openid, delta, balance_after, reason, ref FROM credit_ledger ORDER BY openid');
    expect(ledger).toEqual([
      {
        openid: 'oLEGACYfollower0000000000002',
        delta: 8,
        balance_after: 8,
        reason: 'opening_balance',
        ref: 'oLEGACYfollower0000000000002',
      },
      {
        openid: 'oLEGACYmember000000000000001',
        delta: 17,
        balance_after: 17,
        reason: 'opening_balance',
        ref: 'oLEGACYmember000000000000001',
      },
    ]);
  });

  it('holds the ledger invariant for every user', async () => {
    await expectInvariants(async (sql) => (await conn.query(sql))[0] as Row[]);
  });

  it('adds the closed status and drops the legacy credit default of 100', async () => {
    const [[status]] = (await conn.query(
      "SELECT column_type AS t FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'payment_orders' AND column_name = 'status'",
    )) as unknown as [[{ t: string }]];
    expect(status.t).toBe("enum('pending','paid','refunded','failed','closed')");
    const [defaults] = await conn.query(
      "SELECT column_name AS c, column_default AS d FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'wechat_users' AND column_name IN ('total_credits','remaining_credits') ORDER BY 1",
    );
    expect((defaults as Array<{ c: string; d: string }>).map((r) => [r.c, String(r.d)])).toEqual([
      ['remaining_credits', '0'],
      ['total_credits', '0'],
    ]);
  });

  it('migrating again changes nothing in any table', async () => {
    const tables = await allTables(conn);
    const first = await snapshot(conn, tables);
    const app = await startApp({ ...db.env });
    try {
      expect(await runMigrationsLocked(app.app.get(DatabaseService).dataSource)).toEqual([]);
    } finally {
      await app.close();
    }
    expect(await allTables(conn)).toEqual(tables);
    expect(await snapshot(conn, tables)).toEqual(first);
  });

  it('the old service can still insert rows after the upgrade (rollback stays possible)', async () => {
    await conn.query(
      "INSERT INTO wechat_users (openid, total_credits, used_credits, remaining_credits) VALUES ('oOLDSERVICEafterUpgrade0000', 10, 0, 10)",
    );
    await conn.query(
      "INSERT INTO payment_orders (order_no, openid, order_type, amount, credits_amount, status) VALUES ('ORDOLDSERVICE00000000001', 'oOLDSERVICEafterUpgrade0000', 'credits', 9.90, 10, 'pending')",
    );
    await conn.query("INSERT INTO wechat_qrcode_bindings (client_id, scene_id) VALUES ('PC_old_service_after', 3)");
    const [[u]] = (await conn.query(
      "SELECT subscribed, member_lifetime FROM wechat_users WHERE openid = 'oOLDSERVICEafterUpgrade0000'",
    )) as unknown as [[Row]];
    expect(u).toEqual({ subscribed: 1, member_lifetime: 0 });
    await conn.query("DELETE FROM payment_orders WHERE order_no = 'ORDOLDSERVICE00000000001'");
    await conn.query("DELETE FROM wechat_users WHERE openid = 'oOLDSERVICEafterUpgrade0000'");
    await conn.query("DELETE FROM wechat_qrcode_bindings WHERE client_id = 'PC_old_service_after'");
  });
});
