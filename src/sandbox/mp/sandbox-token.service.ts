import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { safeEqual } from '../../wechat/signature';
import { TOKEN_GRACE_SECONDS, TOKEN_TTL_SECONDS } from '../core/sandbox.constants';
import { SandboxStore } from '../core/sandbox.store';
import { WxError, wxError } from './sandbox-wx-errors';

export function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/**
 * access_token issuance and checking, as strict as WeChat: wrong credentials get WeChat's errcodes,
 * a new `cgi-bin/token` keeps the previous token alive for 5 minutes only, expired tokens get 42001,
 * unknown or superseded ones 40001. `stable_token` tokens are a separate family, as at WeChat.
 */
@Injectable()
export class SandboxTokenService {
  private readonly logger = new Logger('Sandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** Checks an appid/secret pair like WeChat: missing → 41002/41004, wrong appid 40013, wrong secret 40125. */
  credentialsError(appid: string, secret: string): WxError | null {
    if (!appid) return wxError(41002);
    if (!secret) return wxError(41004);
    if (appid !== this.config.wechat.appId) return wxError(40013);
    if (!safeEqual(secret, this.config.wechat.secret)) return wxError(40125);
    return null;
  }

  /** `GET /cgi-bin/token?grant_type=client_credential&appid=&secret=`: a new token every call. */
  token(query: Record<string, unknown>): object {
    const error =
      str(query.grant_type) !== 'client_credential' ? wxError(40002) : this.credentialsError(str(query.appid), str(query.secret));
    if (error) {
      this.store.count('token_errors');
      return error;
    }
    this.store.count('token_fetches');
    const token = this.issue('normal', TOKEN_GRACE_SECONDS);
    return { access_token: token, expires_in: TOKEN_TTL_SECONDS };
  }

  /**
   * `POST /cgi-bin/stable_token {grant_type, appid, secret, force_refresh?}`: the same token while it
   * has more than 5 minutes left; `force_refresh: true` replaces it and the old one dies at once.
   */
  stableToken(body: unknown): object {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      this.store.count('token_errors');
      return wxError(47001);
    }
    const b = body as Record<string, unknown>;
    const error = str(b.grant_type) !== 'client_credential' ? wxError(40002) : this.credentialsError(str(b.appid), str(b.secret));
    if (error) {
      this.store.count('token_errors');
      return error;
    }
    if (b.force_refresh !== undefined && typeof b.force_refresh !== 'boolean') {
      this.store.count('token_errors');
      return wxError(47001, 'force_refresh must be a boolean');
    }
    this.store.count('token_fetches');
    this.store.count('stable_token_fetches');
    const now = this.clock.nowMs();
    const current = this.store.currentToken.stable;
    const entry = current ? this.store.tokens.get(current) : undefined;
    if (current && entry && !b.force_refresh && entry.invalidAfter === undefined && entry.expiresAt - now > TOKEN_GRACE_SECONDS * 1000) {
      return { access_token: current, expires_in: Math.floor((entry.expiresAt - now) / 1000) };
    }
    const token = this.issue('stable', b.force_refresh ? 0 : TOKEN_GRACE_SECONDS);
    return { access_token: token, expires_in: TOKEN_TTL_SECONDS };
  }

  private issue(kind: 'normal' | 'stable', previousGraceSeconds: number): string {
    const now = this.clock.nowMs();
    const previous = this.store.currentToken[kind];
    const old = previous ? this.store.tokens.get(previous) : undefined;
    if (old) old.invalidAfter = Math.min(old.invalidAfter ?? Infinity, now + previousGraceSeconds * 1000);
    const token = randomBytes(96).toString('base64url');
    this.store.addToken(token, { kind, issuedAt: now, expiresAt: now + TOKEN_TTL_SECONDS * 1000 });
    this.store.currentToken[kind] = token;
    this.logger.debug(`issued a ${kind} access_token`);
    return token;
  }

  /**
   * Every API call: counts it and checks `access_token` (missing 41001, unknown or superseded 40001,
   * expired 42001). The `40001-once` fault kills the next valid token it sees.
   */
  check(accessToken: unknown): WxError | null {
    this.store.count('api_calls');
    const error = this.verdict(str(accessToken));
    if (error) this.store.count('api_errors');
    return error;
  }

  private verdict(token: string): WxError | null {
    if (!token) return wxError(41001);
    const entry = this.store.tokens.get(token);
    if (!entry) return wxError(40001);
    const now = this.clock.nowMs();
    if (entry.invalidAfter !== undefined && now >= entry.invalidAfter) return wxError(40001);
    if (now >= entry.expiresAt) return wxError(42001);
    if (this.store.faults.token === '40001-once') {
      this.store.faults.token = null;
      entry.invalidAfter = now;
      this.logger.debug('fault 40001-once: invalidated a valid access_token');
      return wxError(40001);
    }
    return null;
  }
}
