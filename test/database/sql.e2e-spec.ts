import type { EntityManager } from 'typeorm';
import { DatabaseService } from '../../src/database/database.service';
import { execute, insertIgnore, isUniqueViolation, select, toDate } from '../../src/database/sql';
import { dbKinds, startAppOnFreshDb, TestApp } from '../setup/test-app';

/**
 * The statement helpers every service writes and reads through (`execute`, `select`).
 * On MySQL they hand statements to mysql2 themselves instead of TypeORM's query runner, so these
 * pin down what that must keep: a transaction's statements on its own connection (a rollback undoes
 * them; the pool would have committed each at once), the same rows and types TypeORM returns, what
 * a write changed, and mysql2's error codes for the checks that read them.
 */
describe.each(dbKinds())('statement helpers [%s]', (kind) => {
  let app: TestApp;
  let db: DatabaseService;
  const openid = (tag: string) => `oSqlHelpers${tag}${kind}`.slice(0, 64);

  beforeAll(async () => {
    app = await startAppOnFreshDb(kind);
    db = app.app.get(DatabaseService);
  });

  afterAll(async () => {
    await app?.close();
  });

  const insertUser = (em: EntityManager, id: string, credits = 10) =>
    execute(
      em,
      `${insertIgnore(em)} wechat_users (openid, is_member, member_lifetime, total_paid_amount, total_credits, used_credits,
         remaining_credits, subscribed, subscribe_time, last_active_time, created_at, updated_at)
       VALUES (?, 0, 0, 0, ?, 0, ?, ?, ?, ?, ?, ?)`,
      [id, credits, credits, true, new Date('2026-01-02T03:04:05.000Z'), null, new Date(), new Date()],
    );

  it('a write reports what it changed: inserted, ignored, updated, matched nothing', async () => {
    const id = openid('Writes');
    expect((await db.run((em) => insertUser(em, id))).affected).toBe(1);
    expect((await db.run((em) => insertUser(em, id))).affected).toBe(0);
    const moved = await db.run((em) =>
      execute(em, 'UPDATE wechat_users SET remaining_credits = remaining_credits - 1 WHERE openid = ?', [id]),
    );
    expect(moved.affected).toBe(1);
    const none = await db.run((em) => execute(em, 'UPDATE wechat_users SET remaining_credits = 0 WHERE openid = ?', ['oNobody']));
    expect(none.affected).toBe(0);
    const entry = await db.run((em) =>
      execute(em, 'INSERT INTO credit_ledger (openid, delta, balance_after, reason, ref, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
        id,
        10,
        10,
        'signup_bonus',
        id,
        new Date(),
      ]),
    );
    expect(entry).toEqual({ affected: 1, insertId: expect.any(Number) as number });
  });

  it("a transaction's statements run on its own connection: a rollback undoes them, a commit keeps them", async () => {
    const undone = openid('Undone');
    await expect(
      db.transaction(async (em) => {
        await insertUser(em, undone);
        // Seen inside the transaction, not from outside it until it commits.
        expect(await select(em, 'SELECT openid FROM wechat_users WHERE openid = ?', [undone])).toHaveLength(1);
        if (kind === 'mysql')
          expect(await db.run((em) => select(em, 'SELECT openid FROM wechat_users WHERE openid = ?', [undone]))).toHaveLength(0);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await db.run((em) => select(em, 'SELECT openid FROM wechat_users WHERE openid = ?', [undone]))).toHaveLength(0);

    const kept = openid('Kept');
    await db.transaction((em) => insertUser(em, kept));
    expect(await db.run((em) => select(em, 'SELECT openid FROM wechat_users WHERE openid = ?', [kept]))).toHaveLength(1);
  });

  it('rows come back as TypeORM returns them: numbers, datetimes, NULLs', async () => {
    const id = openid('Rows');
    await db.run((em) => insertUser(em, id, 7));
    const sql = 'SELECT openid, remaining_credits, subscribed, subscribe_time, last_active_time FROM wechat_users WHERE openid = ?';
    const viaTypeorm: unknown = await db.dataSource.query(sql, [id]);
    const outside = await db.run((em) => select(em, sql, [id]));
    const inside = await db.transaction((em) => select(em, sql, [id]));
    expect(outside).toEqual(viaTypeorm);
    expect(inside).toEqual(viaTypeorm);
    const [row] = outside as Array<{ remaining_credits: unknown; subscribe_time: unknown; last_active_time: unknown }>;
    expect(Number(row.remaining_credits)).toBe(7);
    expect(toDate(row.subscribe_time)?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(row.last_active_time).toBeNull();
  });

  it("a unique key's refusal keeps the driver's code, inside a transaction and out", async () => {
    const id = openid('Unique');
    await db.run((em) => insertUser(em, id));
    const duplicate = (em: EntityManager) =>
      execute(
        em,
        `INSERT INTO wechat_users (openid, is_member, member_lifetime, total_paid_amount, total_credits, used_credits,
           remaining_credits, subscribed, created_at, updated_at) VALUES (?, 0, 0, 0, 0, 0, 0, 0, ?, ?)`,
        [id, new Date(), new Date()],
      );
    const outside = await db.run(duplicate).catch((e: unknown) => e);
    const inside = await db.transaction(duplicate).catch((e: unknown) => e);
    expect(isUniqueViolation(outside)).toBe(true);
    expect(isUniqueViolation(inside)).toBe(true);
  });

  // MySQL only: there a statement outside a transaction goes to the pool (SQLite has one connection).
  if (kind === 'mysql')
    it('a transaction used after it ended refuses to run, rather than running on the pool', async () => {
      let leaked!: EntityManager;
      await db.transaction(async (em) => {
        leaked = em;
        await select(em, 'SELECT 1 AS one');
      });
      const id = openid('Leaked');
      await expect(insertUser(leaked, id)).rejects.toThrow();
      expect(await db.run((em) => select(em, 'SELECT openid FROM wechat_users WHERE openid = ?', [id]))).toHaveLength(0);
    });
});
