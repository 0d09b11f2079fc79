import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { signSessionToken } from '../common/session-token';
import { AppConfig } from '../config/app-config';
import { UserService } from '../user/user.service';
import { OAuthIdentity, OfficialAccountClient } from '../wechat/official-account.client';
import { WechatApiError, WechatUnavailableError } from '../wechat/official-account.errors';

export const OAUTH_FAILED_DETAIL = '授权失败';

/** The member pages (`public/wechat/<page>.html`) that log in through OAuth. */
export const MEMBER_PAGES = ['member', 'credits', 'credits_info'] as const;
export type MemberPage = (typeof MEMBER_PAGES)[number];

export interface SessionView {
  success: true;
  openid: string;
  token: string;
  expires_in: number;
}

/** Web OAuth (snsapi_base): the code WeChat hands the page becomes a signed session token. */
@Injectable()
export class WechatOAuthService {
  private readonly logger = new Logger(WechatOAuthService.name);

  constructor(
    private readonly wechat: OfficialAccountClient,
    private readonly users: UserService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * WeChat's authorize URL (snsapi_base) that lands on `PUBLIC_BASE_URL/wechat/<page>.html?code=…&state=<state>`.
   * The state is the page's own (login CSRF, docs/deploy.md "Menu"): the page refuses a code whose
   * state it did not issue, so only the page itself starts a login.
   */
  authorizeUrl(page: MemberPage, state: string): string {
    const { appId, oauthBase } = this.config.wechat;
    const redirect = encodeURIComponent(`${this.config.http.publicBaseUrl}/wechat/${page}.html`);
    return `${oauthBase}/connect/oauth2/authorize?appid=${appId}&redirect_uri=${redirect}&response_type=code&scope=snsapi_base&state=${state}#wechat_redirect`;
  }

  async login(code: string): Promise<SessionView> {
    const identity = await this.exchange(code);
    // Creates the user on first sight (initial credits once per openid) and records last_active_time.
    await this.users.upsert(identity.openid, 'oauth');
    const { secret, ttlSeconds } = this.config.session;
    const token = signSessionToken(secret, identity.openid, this.clock.nowSeconds(), ttlSeconds);
    return { success: true, openid: identity.openid, token, expires_in: ttlSeconds };
  }

  private async exchange(code: string): Promise<OAuthIdentity> {
    try {
      return await this.wechat.exchangeOAuthCode(code);
    } catch (err) {
      if (err instanceof WechatApiError) {
        // Invalid, expired or reused codes: the page shows WeChat's own message (docs/api.md).
        this.logger.warn(`oauth code refused by WeChat: errcode ${err.errcode}`);
        throw new DomainError(400, err.errmsg || `errcode ${err.errcode}`);
      }
      if (err instanceof WechatUnavailableError) {
        this.logger.warn(`oauth exchange failed: ${err.message}`);
        throw new DomainError(502, OAUTH_FAILED_DETAIL);
      }
      throw err;
    }
  }
}
