import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock } from '../../common/clock';
import { maskId } from '../../common/redact';
import { AppConfig } from '../../config/app-config';
import { randomNonce } from '../../wechat/nonce';
import { errorPage } from '../core/sandbox-html';
import { html, SandboxReply } from '../core/sandbox-reply';
import { OAUTH_CODE_TTL_SECONDS, OPENID_PATTERN, TOKEN_TTL_SECONDS } from '../core/sandbox.constants';
import { SandboxStore } from '../core/sandbox.store';
import { renderOAuthPage } from './sandbox-mp-pages';
import { str, SandboxTokenService } from './sandbox-token.service';
import { wxError } from './sandbox-wx-errors';

const SCOPES = ['snsapi_base', 'snsapi_userinfo'];

/** A fresh test openid, shaped like WeChat's (28 characters starting with "o"). */
export function newSandboxOpenid(): string {
  return `oSBX${randomNonce(24)}`;
}

/** The web OAuth of the official account: authorize page → code → `sns/oauth2/access_token`. */
@Injectable()
export class SandboxOAuthService {
  private readonly logger = new Logger('Sandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly tokens: SandboxTokenService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * `GET /connect/oauth2/authorize`: WeChat's checks (appid, redirect_uri, response_type, scope),
   * then a "Log in as…" page, or with `sandbox_openid` a redirect to `redirect_uri?code=&state=`.
   */
  authorize(query: Record<string, unknown>): SandboxReply {
    const appid = str(query.appid);
    const redirectUri = str(query.redirect_uri);
    const scope = str(query.scope);
    const state = str(query.state);
    if (appid !== this.config.wechat.appId) return html(errorPage('参数错误', 'appid 参数错误 / invalid appid', 10016), 400);
    let target: URL;
    try {
      target = new URL(redirectUri);
      if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error('scheme');
    } catch {
      return html(errorPage('参数错误', 'redirect_uri 参数错误 / invalid redirect_uri', 10003), 400);
    }
    if (str(query.response_type) !== 'code') return html(errorPage('参数错误', 'response_type 参数错误', 10004), 400);
    if (!SCOPES.includes(scope)) return html(errorPage('参数错误', '此公众号并没有这些scope的权限 / invalid scope', 10005), 400);

    const openid = str(query.sandbox_openid).trim();
    if (!openid) {
      const params = { appid, redirect_uri: redirectUri, response_type: 'code', scope, state };
      return html(renderOAuthPage({ params, users: this.store.listUsers(), suggested: newSandboxOpenid(), target: target.href }));
    }
    if (!OPENID_PATTERN.test(openid)) return html(errorPage('参数错误', 'openid 只能包含字母、数字、- 和 _（最多 64 个）'), 400);

    const code = randomBytes(24).toString('base64url');
    const now = this.clock.nowMs();
    this.store.addCode(code, { openid, scope, expiresAt: now + OAUTH_CODE_TTL_SECONDS * 1000 });
    this.store.touchUser(openid, 'oauth', now);
    this.store.count('oauth_codes_issued');
    target.searchParams.set('code', code);
    target.searchParams.set('state', state);
    this.logger.debug(`oauth code issued for ${maskId(openid)}`);
    return { status: 302, redirect: target.href };
  }

  /** `GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code`. */
  exchange(query: Record<string, unknown>): object {
    this.store.count('oauth_exchanges');
    const credentials = this.tokens.credentialsError(str(query.appid), str(query.secret));
    if (credentials) return credentials;
    if (str(query.grant_type) !== 'authorization_code') return wxError(40002);
    const code = str(query.code);
    if (!code) return wxError(41008);
    const entry = this.store.oauthCodes.get(code);
    if (!entry) return wxError(40029);
    if (entry.usedAt !== undefined) return wxError(40163);
    const now = this.clock.nowMs();
    if (now >= entry.expiresAt) return wxError(40029);
    entry.usedAt = now;
    return {
      access_token: randomBytes(64).toString('base64url'),
      expires_in: TOKEN_TTL_SECONDS,
      refresh_token: randomBytes(64).toString('base64url'),
      openid: entry.openid,
      scope: entry.scope,
    };
  }
}
