import { Clock } from '../../src/common/clock';
import { AccessTokenStore, FetchedToken } from '../../src/wechat/access-token.store';
import { dbKinds, startApp, startAppOnFreshDb, TestApp } from '../setup/test-app';

let issued = 0; // tokens are unique across every fake upstream of this file

/** A fake upstream: counts its fetches, answers after `delayMs` with a never-seen-before token. */
function upstream(delayMs = 100, expiresInSeconds = 7200) {
  let fetches = 0;
  return {
    get fetches() {
      return fetches;
    },
    fetch: async (): Promise<FetchedToken> => {
      fetches++;
      const token = `TOKEN-${++issued}`;
      await new Promise((r) => setTimeout(r, delayMs));
      return { accessToken: token, expiresInSeconds };
    },
  };
}

/**
 * docs/data.md "The WeChat access token": one fetch for many concurrent callers across processes,
 * refresh 5 minutes early by one process while the others keep the old token, compare-and-swap
 * invalidation. Driven with a counting upstream so each rule is observed directly.
 */
describe.each(dbKinds())('shared access token store [%s]', (kind) => {
  const apps: TestApp[] = [];
  const store = (i: number) => apps[i].app.get(AccessTokenStore, { strict: false });

  // Fresh instances on a fresh database per test: each instance's in-memory copy of the token is
  // legitimately kept until WeChat refuses it, so state must not leak between scenarios.
  beforeEach(async () => {
    const env = { WECHAT_APPID: 'wxtokentest0000001', WECHAT_SECRET: 's', WECHAT_TOKEN: 'tok' };
    const first = await startAppOnFreshDb(kind, env);
    apps.push(first);
    // Two app instances on one database (MySQL); SQLite is one process, so one instance there.
    if (kind === 'mysql') apps.push(await startApp({ ...first.db.env, ...env }));
  });

  afterEach(async () => {
    // The first instance drops the database when it closes: it goes last.
    for (const a of apps.splice(0).reverse()) await a.close();
  });

  it('50 concurrent callers spread over the instances cause exactly one fetch and all get that token', async () => {
    const up = upstream(200);
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => store(i % apps.length).get(up.fetch)));
    expect(up.fetches).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toMatch(/^TOKEN-\d+$/);
  });

  it('a token refused by WeChat is replaced once; a second invalidation of the same old token is a no-op', async () => {
    const up = upstream(50);
    const old = await store(0).get(up.fetch);
    await store(0).invalidate(old);
    const fresh = await store(0).get(up.fetch);
    expect(fresh).not.toBe(old);
    // Another instance still holding the old token reports it refused too: compare-and-swap sees
    // the row already changed, so no second fetch happens.
    await store(apps.length - 1).invalidate(old);
    expect(await store(apps.length - 1).get(up.fetch)).toBe(fresh);
    expect(up.fetches).toBe(2); // the first token and exactly one replacement
  });

  it('within 5 minutes of expiry one caller refreshes while the others keep using the old token', async () => {
    // The production clock cannot move (and these apps have no sandbox): read 6 minutes ahead instead.
    const later = (i: number) => jest.spyOn(apps[i].app.get(Clock), 'nowMs').mockImplementation(() => Date.now() + 6 * 60 * 1000);
    const seed = upstream(10, 600); // 10 minutes of validity
    const old = await store(0).get(seed.fetch);
    const clock = later(0); // now 4 minutes from expiry
    try {
      const slow = upstream(500);
      const first = store(0).get(slow.fetch); // takes the lease, fetching takes 500 ms
      await new Promise((r) => setTimeout(r, 100));
      if (apps.length > 1) {
        // The other instance (its clock not moved, so move it too) keeps the old token meanwhile.
        const other = later(1);
        try {
          expect(await store(1).get(slow.fetch)).toBe(old);
        } finally {
          other.mockRestore();
        }
      }
      expect(await first).not.toBe(old);
      expect(slow.fetches).toBe(1);
    } finally {
      clock.mockRestore();
    }
  });

  it('a failed fetch releases the lease so the next caller can fetch', async () => {
    await expect(store(0).get(() => Promise.reject(new Error('upstream down')))).rejects.toThrow('upstream down');
    const up = upstream(1);
    const token = await store(0).get(up.fetch);
    expect(token).toBe(`TOKEN-${issued}`);
    expect(up.fetches).toBe(1);
  });
});
