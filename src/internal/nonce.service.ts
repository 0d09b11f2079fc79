import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { DatabaseService } from '../database/database.service';
import { execute, insertIgnore, select } from '../database/sql';

/** Pairs older than this are purged (WeChat's timestamps are only accepted within minutes). */
const RETENTION_MS = 15 * 60 * 1000;
const PURGE_EVERY_MS = 60 * 1000;

/**
 * Replay guard of plaintext-mode pushes, whose signature does not cover the body
 * (callbacks.md): the (timestamp, nonce) pair is claimed with the body's hash.
 */
@Injectable()
export class NonceService {
  private lastPurge = 0;

  constructor(
    private readonly db: DatabaseService,
    private readonly clock: Clock,
  ) {}

  async claim(timestamp: string, nonce: string, bodySha256: string): Promise<{ fresh: boolean }> {
    await this.purgeOccasionally();
    return this.db.transaction(async (em) => {
      const res = await execute(em, `${insertIgnore(em)} wechat_callback_nonces (timestamp, nonce, body_sha256, created_at) VALUES (?, ?, ?, ?)`, [
        Number(timestamp),
        nonce,
        bodySha256,
        this.clock.now(),
      ]);
      if (res.affected === 1) return { fresh: true };
      const [seen] = await select<{ body_sha256: string }>(em, 'SELECT body_sha256 FROM wechat_callback_nonces WHERE timestamp = ? AND nonce = ?', [
        Number(timestamp),
        nonce,
      ]);
      if (seen && seen.body_sha256 !== bodySha256) throw new DomainError(409, '重放请求');
      return { fresh: false };
    });
  }

  private async purgeOccasionally(): Promise<void> {
    const now = this.clock.nowMs();
    if (now - this.lastPurge < PURGE_EVERY_MS) return;
    this.lastPurge = now;
    await this.db.run((em) => execute(em, 'DELETE FROM wechat_callback_nonces WHERE created_at < ?', [new Date(now - RETENTION_MS)]));
  }
}
