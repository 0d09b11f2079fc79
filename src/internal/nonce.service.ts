import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { execute, insertIgnore, select } from '../database/sql';

const PURGE_EVERY_MS = 60 * 1000;

/**
 * How long a claimed pair must be kept, derived from CALLBACK_MAX_SKEW_SECONDS (the only setting):
 * a pair claimed at `c` carries a timestamp `t` with |c − t| ≤ skew, and its query is accepted again
 * until `t + skew` ≤ `c + 2·skew`. One purge interval of margin on top, so it is never forgotten early.
 */
export function nonceRetentionMs(maxSkewSeconds: number): number {
  return 2 * maxSkewSeconds * 1000 + PURGE_EVERY_MS;
}

/**
 * Replay guard of pushes (docs/callbacks.md): every accepted push claims its (timestamp, nonce) pair with
 * the body's hash, so a plaintext push — whose signature covers no byte of the body — can never reuse
 * the query of another push with a body of its own while that query's timestamp is still accepted.
 */
@Injectable()
export class NonceService {
  private lastPurge = 0;

  constructor(
    private readonly db: DatabaseService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  async claim(timestamp: string, nonce: string, bodySha256: string): Promise<{ fresh: boolean }> {
    await this.purgeOccasionally();
    return this.db.transaction((em) => this.claimIn(em, timestamp, nonce, bodySha256));
  }

  /**
   * `claim` inside the caller's transaction: a push claims its pair in the transaction that applies
   * its effects, so both commit together (one transaction per push, docs/performance.md). The
   * caller runs `purgeOccasionally` outside it.
   */
  async claimIn(em: EntityManager, timestamp: string, nonce: string, bodySha256: string): Promise<{ fresh: boolean }> {
    const res = await execute(
      em,
      `${insertIgnore(em)} wechat_callback_nonces (timestamp, nonce, body_sha256, created_at) VALUES (?, ?, ?, ?)`,
      [Number(timestamp), nonce, bodySha256, this.clock.now()],
    );
    if (res.affected === 1) return { fresh: true };
    const [seen] = await select<{ body_sha256: string }>(
      em,
      'SELECT body_sha256 FROM wechat_callback_nonces WHERE timestamp = ? AND nonce = ?',
      [Number(timestamp), nonce],
    );
    if (seen && seen.body_sha256 !== bodySha256) throw new DomainError(409, '重放请求');
    return { fresh: false };
  }

  async purgeOccasionally(): Promise<void> {
    const now = this.clock.nowMs();
    if (now - this.lastPurge < PURGE_EVERY_MS) return;
    this.lastPurge = now;
    const cutoff = new Date(now - nonceRetentionMs(this.config.wechat.callbackMaxSkewSeconds));
    await this.db.run((em) => execute(em, 'DELETE FROM wechat_callback_nonces WHERE created_at < ?', [cutoff]));
  }
}
