import type { DataSource } from 'typeorm';
import { DatabaseService } from '../../src/database/database.service';
import { CreditTaskKeys1740000000000 } from '../../src/database/migrations/1740000000000-credit-task-keys';
import { InternalApi } from '../../src/internal/internal-api';
import { expectInvariants } from '../setup/invariants';
import { dbKinds, startAppOnFreshDb, TestApp } from '../setup/test-app';

type Row = Record<string, unknown>;

/**
 * Migration 1740000000000 on a database the previous release wrote: consume/refund entries keyed by
 * the shared ref `task_type:task_id`. Every row stays; their owners still find them (a repeat is not
 * charged again, the refund still works once); another user with the same ids is charged for their own.
 */
describe.each(dbKinds())('credit task keys migration [%s]', (kind) => {
  let app: TestApp;
  let ds: DataSource;
  const q = (sql: string, p: unknown[] = []) => ds.query<Row[]>(sql, p);

  beforeAll(async () => {
    app = await startAppOnFreshDb(kind);
    ds = app.app.get(DatabaseService).dataSource;

    // Back to the previous release's schema, then rows as it wrote them.
    const qr = ds.createQueryRunner();
    try {
      await new CreditTaskKeys1740000000000().down(qr);
    } finally {
      await qr.release();
    }
    await q("DELETE FROM typeorm_migrations WHERE name = 'CreditTaskKeys1740000000000'");
    const now = new Date().toISOString().slice(0, 19).replace('T', ' ');
    for (const [openid, remaining, used] of [
      ['oOldOwner', 6, 4],
      ['oOldOther', 10, 0],
    ] as const) {
      await q('INSERT INTO wechat_users (openid, total_credits, used_credits, remaining_credits, subscribed) VALUES (?, ?, ?, ?, 1)', [
        openid,
        10,
        used,
        remaining,
      ]);
      await q(
        "INSERT INTO credit_ledger (openid, delta, balance_after, reason, ref, created_at) VALUES (?, 10, 10, 'signup_bonus', ?, ?)",
        [openid, openid, now],
      );
    }
    const entries: Array<[number, number, string, string]> = [
      [-3, 7, 'consume', 'image_edit:old-1'],
      [-2, 5, 'consume', 'x:y:Z'],
      [1, 6, 'refund', 'x:y:Z'],
    ];
    for (const [delta, after, reason, ref] of entries) {
      await q('INSERT INTO credit_ledger (openid, delta, balance_after, reason, ref, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
        'oOldOwner',
        delta,
        after,
        reason,
        ref,
        now,
      ]);
    }
    await ds.runMigrations({ transaction: 'each' });
  });

  afterAll(async () => {
    if (ds) await expectInvariants((sql) => q(sql));
    await app?.close();
  });

  it('keeps every entry and its ref, and fills the task columns of consume/refund entries from the ref', async () => {
    expect(await q("SELECT reason, ref, task_type, task_id FROM credit_ledger WHERE openid = 'oOldOwner' ORDER BY id")).toEqual([
      { reason: 'signup_bonus', ref: 'oOldOwner', task_type: null, task_id: null },
      { reason: 'consume', ref: 'image_edit:old-1', task_type: 'image_edit', task_id: 'old-1' },
      { reason: 'consume', ref: 'x:y:Z', task_type: 'x', task_id: 'y:Z' },
      { reason: 'refund', ref: 'x:y:Z', task_type: 'x', task_id: 'y:Z' },
    ]);
  });

  it("the owner's repeat of an old task is the first result; the owner's refund gives back once; another user's same ids are their own task", async () => {
    const api = app.app.get(InternalApi);
    expect(await api.consumeCredits({ openid: 'oOldOwner', task_type: 'image_edit', task_id: 'old-1', amount: 3 })).toEqual({
      success: true,
      consumed: 3,
      remaining_credits: 6,
    });
    expect(await api.refundCredits({ openid: 'oOldOwner', task_type: 'x', task_id: 'y:Z' })).toEqual({
      success: true,
      refunded: 1,
      remaining_credits: 6,
    });
    expect(await api.consumeCredits({ openid: 'oOldOther', task_type: 'image_edit', task_id: 'old-1', amount: 3 })).toEqual({
      success: true,
      consumed: 3,
      remaining_credits: 7,
    });
    expect(await api.refundCredits({ openid: 'oOldOwner', task_type: 'image_edit', task_id: 'old-1' })).toEqual({
      success: true,
      refunded: 3,
      remaining_credits: 9,
    });
    expect(await api.refundCredits({ openid: 'oOldOwner', task_type: 'image_edit', task_id: 'old-1' })).toEqual({
      success: true,
      refunded: 3,
      remaining_credits: 9,
    });
    expect(await q("SELECT openid, remaining_credits FROM wechat_users WHERE openid LIKE 'oOld%' ORDER BY openid")).toEqual([
      { openid: 'oOldOther', remaining_credits: 7 },
      { openid: 'oOldOwner', remaining_credits: 9 },
    ]);
  });
});
