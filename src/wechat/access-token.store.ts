import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { WechatAccessToken } from '../database/access-token.entity';
import { DatabaseService } from '../database/database.service';
import { MetricsService } from '../metrics/metrics.service';
import { WechatUnavailableError } from './official-account.errors';

export interface FetchedToken {
  accessToken: string;
  expiresInSeconds: number;
}

/** Refresh this long before expiry: the other processes keep using the old token meanwhile. */
export const REFRESH_MARGIN_MS = 5 * 60 * 1000;
/** How long one process may hold the refresh lease before another may take it over. */
const LEASE_MS = 30 * 1000;
/** Callers with no token at all poll the row this long while another process fetches. */
const WAIT_FOR_FIRST_TOKEN_MS = 5000;
const POLL_MS = 50;
/** An expiry in the past that a MySQL TIMESTAMP can hold (the epoch itself is out of range). */
const LONG_AGO = new Date('2000-01-01T00:00:00Z');

/**
 * The access token every process shares through `wechat_access_tokens` (docs/data.md): the daily quota
 * is 2000 and a new token invalidates the old one, so exactly one process refreshes, under a lease
 * taken with a conditional update (the same on MySQL and SQLite); the others keep the old token,
 * or poll when there is none yet. Within a process, concurrent callers share one lookup.
 */
@Injectable()
export class AccessTokenStore {
  private readonly logger = new Logger(AccessTokenStore.name);
  private cached: { token: string; expiresAt: number } | null = null;
  private inFlight: Promise<string> | null = null;

  constructor(
    private readonly db: DatabaseService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  /** A token valid for more than the refresh margin, fetching through `fetch` when needed. */
  get(fetch: () => Promise<FetchedToken>): Promise<string> {
    const now = this.clock.nowMs();
    if (this.cached && this.cached.expiresAt - now > REFRESH_MARGIN_MS) return Promise.resolve(this.cached.token);
    this.inFlight ??= this.resolve(fetch).finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  /**
   * `failedToken` was refused (40001/42001/40014). Expire it in the shared row only if the row still
   * holds it (compare-and-swap): if another process already refreshed, its new token is used.
   */
  async invalidate(failedToken: string): Promise<void> {
    if (this.cached?.token === failedToken) this.cached = null;
    await this.db.run((em) =>
      em
        .createQueryBuilder()
        .update(WechatAccessToken)
        .set({ expiresAt: LONG_AGO })
        .where('appid = :appid AND access_token = :token', { appid: this.config.wechat.appId, token: failedToken })
        .execute(),
    );
  }

  private async resolve(fetch: () => Promise<FetchedToken>): Promise<string> {
    const appid = this.config.wechat.appId;
    await this.ensureRow(appid);
    const deadline = this.clock.nowMs() + WAIT_FOR_FIRST_TOKEN_MS;
    for (;;) {
      const row = await this.db.run((em) => em.findOneBy(WechatAccessToken, { appid }));
      const now = this.clock.nowMs();
      const expiresAt = row?.expiresAt?.getTime() ?? 0;
      if (row?.accessToken && expiresAt - now > REFRESH_MARGIN_MS) return this.remember(row.accessToken, expiresAt);

      if (await this.takeLease(appid)) return this.refresh(appid, fetch);

      // Another process is refreshing: the old token is still good until it really expires.
      if (row?.accessToken && expiresAt > now) return row.accessToken;
      if (this.clock.nowMs() > deadline)
        throw new WechatUnavailableError('access_token', 'timed out waiting for another process to fetch the token');
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  private async refresh(appid: string, fetch: () => Promise<FetchedToken>): Promise<string> {
    let fetched: FetchedToken;
    try {
      fetched = await fetch();
    } catch (err) {
      await this.releaseLease(appid);
      throw err;
    }
    const now = this.clock.nowMs();
    const expiresAt = new Date(Math.floor((now + fetched.expiresInSeconds * 1000) / 1000) * 1000);
    await this.db.run((em) =>
      em
        .createQueryBuilder()
        .update(WechatAccessToken)
        .set({ accessToken: fetched.accessToken, expiresAt, refreshingUntil: null, updatedAt: this.clock.now() })
        .where('appid = :appid', { appid })
        .execute(),
    );
    this.metrics.tokenFetches.inc();
    this.logger.log(`access token refreshed (valid ${fetched.expiresInSeconds}s)`);
    return this.remember(fetched.accessToken, expiresAt.getTime());
  }

  private remember(token: string, expiresAt: number): string {
    this.cached = { token, expiresAt };
    return token;
  }

  private async ensureRow(appid: string): Promise<void> {
    await this.db.run((em) => em.createQueryBuilder().insert().into(WechatAccessToken).values({ appid }).orIgnore().execute());
  }

  /**
   * Conditional update: exactly one process sees one changed row, and only while the stored token
   * still needs refreshing — a process that read the row before another stored a fresh token must
   * not take the (by then released) lease and fetch a second time.
   */
  private async takeLease(appid: string): Promise<boolean> {
    const now = this.clock.now();
    const staleBefore = new Date(now.getTime() + REFRESH_MARGIN_MS);
    const res = await this.db.run((em) =>
      em
        .createQueryBuilder()
        .update(WechatAccessToken)
        .set({ refreshingUntil: new Date(now.getTime() + LEASE_MS) })
        .where('appid = :appid AND (refreshing_until IS NULL OR refreshing_until < :now)', { appid, now })
        .andWhere('(access_token IS NULL OR expires_at IS NULL OR expires_at < :staleBefore)', { staleBefore })
        .execute(),
    );
    return res.affected === 1;
  }

  private async releaseLease(appid: string): Promise<void> {
    await this.db
      .run((em) =>
        em.createQueryBuilder().update(WechatAccessToken).set({ refreshingUntil: null }).where('appid = :appid', { appid }).execute(),
      )
      .catch(() => undefined);
  }
}
