import { DatabaseService } from '../../src/database/database.service';
import { InternalApi } from '../../src/internal/internal-api';
import { expectInvariants } from '../setup/invariants';
import { dbKinds, startAppOnFreshDb, TestApp } from '../setup/test-app';

/**
 * Concurrent identical effects straight on the services, with no callback-level retry in between:
 * the database layer itself must absorb MySQL deadlocks (the victim transaction is retried).
 */
describe.each(dbKinds())('concurrent upserts [%s]', (kind) => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startAppOnFreshDb(kind);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('20 concurrent subscribes of an existing user and 20 of a new one all succeed, credits granted once', async () => {
    const api = app.app.get(InternalApi);
    const existing = `oConcExisting${kind}`;
    await api.createOrUpdateUser({ openid: existing, source: 'subscribe' });
    for (const openid of [existing, `oConcNew${kind}`]) {
      const results = await Promise.all(Array.from({ length: 20 }, () => api.createOrUpdateUser({ openid, source: 'subscribe' })));
      expect(results.filter((r) => r.credits_granted > 0).length).toBeLessThanOrEqual(1);
      expect(results.every((r) => r.user?.remaining_credits === 10)).toBe(true);
    }
    const ds = app.app.get(DatabaseService).dataSource;
    await expectInvariants((sql) => ds.query(sql));
  });
});
