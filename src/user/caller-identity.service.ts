import { Injectable } from '@nestjs/common';
import { normalizeClientId } from '../common/client-id';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { verifySessionToken } from '../common/session-token';
import { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { select, toDate } from '../database/sql';
import { NotFollowedError, UserNotFoundError } from './user.errors';

/** The 401 texts of docs/api.md "User identity"; pages match them to send users back through the menu. */
export const SESSION_EXPIRED_DETAIL = '登录已过期，请从公众号菜单重新进入';
export const CALLER_REQUIRED_DETAIL = '请先关注公众号并扫码';

/** A Bearer token was sent but is not ours, tampered with or expired (whatever else was sent). */
export class SessionExpiredError extends DomainError {
  constructor() {
    super(401, SESSION_EXPIRED_DETAIL);
  }
}

/** No usable identity on an endpoint that needs one. */
export class CallerRequiredError extends DomainError {
  constructor() {
    super(401, CALLER_REQUIRED_DETAIL);
  }
}

export interface CallerOptions {
  /** The endpoint accepts the desktop's `client_id` query parameter as identity (docs/api.md lists which). */
  allowClientId: boolean;
}

/** How the caller proved who they are. */
export type CallerVia = 'token' | 'openid_header' | 'client_id';

/** What an identity claim names before the database is asked. */
export type IdentityClaim = { via: 'token' | 'openid_header'; openid: string } | { via: 'client_id'; clientId: string };

/** The identity material of one request, as the HTTP layer delivers it. */
export interface IdentityInput {
  authorization?: string | string[];
  openidHeader?: string | string[];
  /** `undefined` when the query has no `client_id` key at all. */
  clientId?: unknown;
}

export interface IdentityPolicy extends CallerOptions {
  secret: string;
  allowOpenidHeader: boolean;
  nowSeconds: number;
}

/** The caller's user row as the user endpoints and payments need it (a snapshot, read with the identity). */
export interface CallerUser {
  openid: string;
  subscribed: boolean;
  isMember: boolean;
  memberLifetime: boolean;
  memberExpireAt: Date | null;
  totalCredits: number;
  usedCredits: number;
  remainingCredits: number;
}

export interface Caller {
  openid: string;
  via: CallerVia;
  user: CallerUser;
}

const BEARER = /^Bearer(?:\s+(.*))?$/i;
/** WeChat openids are 28 url-safe characters; anything outside this cannot name a user row. */
const OPENID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Which identity a request claims, in the order of docs/api.md: Bearer token, then (only when allowed)
 * `X-WeChat-OpenID`, then `client_id` where the endpoint lists it. Pure: no database, no clock.
 * Throws 401 for a bad token (even when other identity is present), 400 for a malformed client_id,
 * 401 when nothing usable is there.
 */
export function claimIdentity(input: IdentityInput, policy: IdentityPolicy): IdentityClaim {
  const auth = single(input.authorization);
  const bearer = auth === undefined ? null : BEARER.exec(auth.trim());
  if (bearer) {
    // Present but empty counts as present: it is a Bearer credential, and it is not valid.
    const token = (bearer[1] ?? '').trim();
    const claims = token ? verifySessionToken(policy.secret, token, policy.nowSeconds) : null;
    if (!claims) throw new SessionExpiredError();
    return { via: 'token', openid: claims.sub };
  }
  if (policy.allowOpenidHeader) {
    const openid = single(input.openidHeader)?.trim();
    if (openid) return { via: 'openid_header', openid };
  }
  if (policy.allowClientId && input.clientId !== undefined) {
    return { via: 'client_id', clientId: normalizeClientId(input.clientId) };
  }
  // A page of the old service (cached in WeChat's webview) sends only X-WeChat-OpenID. The header
  // is no identity, but its message sends the user back through the menu to the new pages (docs/deploy.md).
  if (single(input.openidHeader)?.trim()) throw new SessionExpiredError();
  throw new CallerRequiredError();
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

const USER_COLUMNS = 'openid, subscribed, is_member, member_lifetime, member_expire_at, total_credits, used_credits, remaining_credits';

type UserRow = {
  openid: string | null;
  subscribed: unknown;
  is_member: unknown;
  member_lifetime: unknown;
  member_expire_at: unknown;
  total_credits: unknown;
  used_credits: unknown;
  remaining_credits: unknown;
};

/**
 * Resolves "the caller" of docs/api.md to a user row: one raw read per request (this sits on the
 * hottest public path). Reusable by any module that imports UserModule — through `@RequireCaller`
 * / `@CurrentCaller` (caller.ts) or by calling `resolve` / `resolveRequest` directly.
 */
@Injectable()
export class CallerIdentityService {
  constructor(
    private readonly config: AppConfig,
    private readonly db: DatabaseService,
    private readonly clock: Clock,
  ) {}

  /** The caller of an Express request (headers `authorization`, `x-wechat-openid`, query `client_id`). */
  resolveRequest(
    req: { headers: Record<string, string | string[] | undefined>; query?: Record<string, unknown> },
    options: CallerOptions,
  ): Promise<Caller> {
    const query = req.query ?? {};
    return this.resolve(
      {
        authorization: req.headers.authorization,
        openidHeader: req.headers['x-wechat-openid'],
        clientId: Object.prototype.hasOwnProperty.call(query, 'client_id') ? query.client_id : undefined,
      },
      options,
    );
  }

  /** 401 / 400 / 404 as docs/api.md says; otherwise the caller with their user row. */
  async resolve(input: IdentityInput, options: CallerOptions): Promise<Caller> {
    const claim = claimIdentity(input, {
      ...options,
      secret: this.config.session.secret,
      allowOpenidHeader: this.config.session.allowOpenidHeader,
      nowSeconds: this.clock.nowSeconds(),
    });
    if (claim.via === 'client_id') {
      const user = await this.userOfClient(claim.clientId);
      return { openid: user.openid, via: 'client_id', user };
    }
    // A malformed header value cannot be anyone: no need to ask the database.
    if (!OPENID.test(claim.openid)) throw new UserNotFoundError();
    const user = await this.userByOpenid(claim.openid);
    if (!user) throw new UserNotFoundError();
    return { openid: user.openid, via: claim.via, user };
  }

  private async userByOpenid(openid: string): Promise<CallerUser | null> {
    const [row] = await this.db.run((em) => select<UserRow>(em, USER_BY_OPENID, [openid]));
    return row ? toCallerUser(row) : null;
  }

  /**
   * Binding and user in one round trip: no binding or no openid → 未关注; no user row → 不存在.
   * `wechat_qrcode_bindings` belongs to binding/ (its only writer); this hot-path read joins it
   * directly because binding/ depends on user/, never the reverse (docs/data.md).
   */
  private async userOfClient(clientId: string): Promise<CallerUser> {
    const [row] = await this.db.run((em) => select<UserRow & { bound_openid: string | null }>(em, USER_OF_CLIENT, [clientId]));
    if (!row?.bound_openid) throw new NotFollowedError();
    if (!row.openid) throw new UserNotFoundError();
    return toCallerUser(row);
  }
}

const USER_BY_OPENID = `SELECT ${USER_COLUMNS} FROM wechat_users WHERE openid = ?`;
const USER_OF_CLIENT = `SELECT b.openid AS bound_openid, ${USER_COLUMNS.split(', ')
  .map((c) => `u.${c}`)
  .join(', ')}
  FROM wechat_qrcode_bindings b LEFT JOIN wechat_users u ON u.openid = b.openid
  WHERE b.client_id = ?`;

function toCallerUser(r: UserRow): CallerUser {
  return {
    openid: String(r.openid),
    subscribed: flag(r.subscribed),
    isMember: flag(r.is_member),
    memberLifetime: flag(r.member_lifetime),
    memberExpireAt: toDate(r.member_expire_at),
    totalCredits: Number(r.total_credits ?? 0),
    usedCredits: Number(r.used_credits ?? 0),
    remainingCredits: Number(r.remaining_credits ?? 0),
  };
}

/** TINYINT(1) as the drivers hand it back: number, string or (rarely) boolean. */
function flag(v: unknown): boolean {
  return v === true || v === 1 || v === '1';
}
