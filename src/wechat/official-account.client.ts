import { HttpService } from '@nestjs/axios';
import { Injectable, Logger } from '@nestjs/common';
import { AxiosError } from 'axios';
import { firstValueFrom } from 'rxjs';
import { AppConfig } from '../config/app-config';
import { AccessTokenStore } from './access-token.store';
import { QUOTA_EXCEEDED_ERRCODE, TOKEN_INVALID_ERRCODES, WechatApiError, WechatUnavailableError } from './official-account.errors';

const TIMEOUT_MS = 5000;

interface WechatErrorBody {
  errcode?: number;
  errmsg?: string;
}

export interface OAuthIdentity {
  openid: string;
  unionid?: string;
  scope: string;
}

export type QrKind = 'QR_STR_SCENE' | 'QR_SCENE' | 'QR_LIMIT_SCENE' | 'QR_LIMIT_STR_SCENE';

export interface CreatedQr {
  ticket: string;
  expireSeconds: number | null;
  /** WeChat's `url` field: the content to render as a QR code locally. */
  url: string;
}

export type MenuDefinition = { button: unknown[] } & Record<string, unknown>;

/**
 * The official account's API (api.weixin.qq.com or the sandbox): OAuth code exchange, QR codes,
 * menus. Every call has a timeout; errors become WechatApiError (with errcode) or
 * WechatUnavailableError; URLs with secrets or tokens are never logged.
 */
@Injectable()
export class OfficialAccountClient {
  private readonly logger = new Logger(OfficialAccountClient.name);

  constructor(
    private readonly http: HttpService,
    private readonly config: AppConfig,
    private readonly tokens: AccessTokenStore,
  ) {}

  /** snsapi_base code → openid (`sns/oauth2/access_token`); needs no access token. */
  async exchangeOAuthCode(code: string): Promise<OAuthIdentity> {
    const { appId, secret } = this.config.wechat;
    const body = await this.request<{ openid?: string; unionid?: string; scope?: string }>(
      'sns/oauth2/access_token',
      'GET',
      '/sns/oauth2/access_token',
      {
        params: { appid: appId, secret, code, grant_type: 'authorization_code' },
      },
    );
    if (!body.openid) throw new WechatUnavailableError('sns/oauth2/access_token', 'answer without openid');
    return { openid: body.openid, unionid: body.unionid, scope: body.scope ?? 'snsapi_base' };
  }

  /** Temporary (`QR_STR_SCENE`, `QR_SCENE`) or permanent (`QR_LIMIT_*`) code with a scene. */
  async createQrCode(kind: QrKind, scene: string | number, expireSeconds?: number): Promise<CreatedQr> {
    const sceneField = kind.endsWith('STR_SCENE') ? { scene_str: String(scene) } : { scene_id: Number(scene) };
    const payload: Record<string, unknown> = { action_name: kind, action_info: { scene: sceneField } };
    if (!kind.startsWith('QR_LIMIT')) payload.expire_seconds = expireSeconds;
    const body = await this.withToken<{ ticket?: string; expire_seconds?: number; url?: string }>(
      'cgi-bin/qrcode/create',
      'POST',
      '/cgi-bin/qrcode/create',
      payload,
    );
    if (!body.ticket || !body.url) throw new WechatUnavailableError('cgi-bin/qrcode/create', 'answer without ticket');
    return { ticket: body.ticket, expireSeconds: body.expire_seconds ?? null, url: body.url };
  }

  /** The image URL of a ticket on the mp host. */
  showQrCodeUrl(ticket: string): string {
    return `${this.config.wechat.mpBase}/cgi-bin/showqrcode?ticket=${encodeURIComponent(ticket)}`;
  }

  /** `menu/create` replaces the menu atomically: never delete first. */
  async createMenu(menu: MenuDefinition): Promise<WechatErrorBody> {
    return this.withToken<WechatErrorBody>('cgi-bin/menu/create', 'POST', '/cgi-bin/menu/create', menu);
  }

  async getMenu(): Promise<{ menu?: unknown; conditionalmenu?: unknown }> {
    return this.withToken('cgi-bin/menu/get', 'GET', '/cgi-bin/menu/get');
  }

  /** The current shared access token (fetched once for all processes). */
  accessToken(): Promise<string> {
    return this.tokens.get(() => this.fetchToken());
  }

  private async fetchToken() {
    const { appId, secret } = this.config.wechat;
    const body = await this.request<{ access_token?: string; expires_in?: number }>('cgi-bin/token', 'GET', '/cgi-bin/token', {
      params: { grant_type: 'client_credential', appid: appId, secret },
    });
    if (!body.access_token || !body.expires_in) throw new WechatUnavailableError('cgi-bin/token', 'answer without access_token');
    return { accessToken: body.access_token, expiresInSeconds: body.expires_in };
  }

  /**
   * Calls an API with the shared token. On 40001/42001/40014 the token is invalidated (only if it
   * is still the stored one) and the call is retried once with a fresh token; 45009 is final.
   */
  private async withToken<T>(api: string, method: 'GET' | 'POST', path: string, data?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.accessToken();
      try {
        return await this.request<T>(api, method, path, { params: { access_token: token }, data });
      } catch (err) {
        if (attempt === 0 && err instanceof WechatApiError && TOKEN_INVALID_ERRCODES.has(err.errcode)) {
          this.logger.warn(`${api}: token refused (errcode ${err.errcode}); refreshing once`);
          await this.tokens.invalidate(token);
          continue;
        }
        if (err instanceof WechatApiError && err.errcode === QUOTA_EXCEEDED_ERRCODE)
          this.logger.error(`${api}: daily API quota reached (45009)`);
        throw err;
      }
    }
  }

  private async request<T>(
    api: string,
    method: 'GET' | 'POST',
    path: string,
    opts: { params?: Record<string, unknown>; data?: unknown },
  ): Promise<T> {
    let body: T & WechatErrorBody;
    try {
      const res = await firstValueFrom(
        this.http.request<T & WechatErrorBody>({
          method,
          url: this.config.wechat.apiBase + path,
          params: opts.params,
          data: opts.data,
          timeout: TIMEOUT_MS,
          // WeChat answers errors with HTTP 200; anything else is an outage, not an answer.
          validateStatus: (s) => s >= 200 && s < 300,
          // Keep Chinese as-is; WeChat rejects \u escapes in menus.
          transformRequest: [(d: unknown) => (d === undefined ? d : JSON.stringify(d))],
          headers: opts.data === undefined ? undefined : { 'Content-Type': 'application/json; charset=utf-8' },
        }),
      );
      body = res.data;
    } catch (err) {
      // Never surface the axios error: its config holds the URL with secret/token.
      const e = err as AxiosError;
      throw new WechatUnavailableError(api, e.response ? `HTTP ${e.response.status}` : (e.code ?? 'request failed'));
    }
    if (typeof body !== 'object' || body === null) throw new WechatUnavailableError(api, 'unreadable answer');
    if (body.errcode) throw new WechatApiError(body.errcode, String(body.errmsg ?? ''), api);
    return body;
  }
}
