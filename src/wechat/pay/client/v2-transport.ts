import type { Agent as HttpsAgent } from 'node:https';
import { HttpService } from '@nestjs/axios';
import { firstValueFrom } from 'rxjs';
import { AppConfig } from '../../../config/app-config';
import { randomNonce } from '../../nonce';
import { buildXml } from '../../xml';
import { V2Params, v2Sign } from '../crypto/v2-sign';
import { DEFAULT_PAY_TIMEOUT_MS } from '../pay.client';
import { PayUnavailableError, unavailableFrom } from '../pay-errors';

/** The most an API answer may weigh (a bill download raises it). */
export const MAX_V2_ANSWER_BYTES = 1024 * 1024;

export interface V2PostOptions {
  /** TLS client certificate agent (`secapi/*`). */
  httpsAgent?: HttpsAgent;
  maxBytes?: number;
}

/**
 * Sends one v2 request: appid, mch_id and a fresh nonce_str added, signed with the API key in the
 * configured sign type, posted as XML. Returns the 2xx answer's text, unverified (PayV2Client
 * checks it); transport failures and other statuses are PayUnavailableError.
 */
export class V2HttpTransport {
  constructor(
    private readonly http: HttpService,
    private readonly config: AppConfig,
  ) {}

  async post(api: string, params: V2Params, options: V2PostOptions = {}): Promise<string> {
    const { appId } = this.config.wechat;
    const { mchId, apiKey, signType, base } = this.config.pay;
    const request: V2Params = { appid: appId, mch_id: mchId, nonce_str: randomNonce(32), ...params };
    // MD5 is the default and WeChat's examples omit sign_type for it; HMAC must be declared.
    if (signType === 'HMAC-SHA256') request.sign_type = signType;
    request.sign = v2Sign(request, apiKey, signType);
    const xml = buildXml(xmlFields(request));

    let status: number;
    let raw: string;
    try {
      const res = await firstValueFrom(
        this.http.request<string>({
          method: 'POST',
          url: `${base}/${api}`,
          data: xml,
          headers: { 'Content-Type': 'text/xml; charset=utf-8', Accept: 'text/xml, application/xml, text/plain' },
          responseType: 'text',
          transformRequest: [(d: unknown) => d],
          transformResponse: [(d: unknown) => d],
          timeout: this.http.axiosRef.defaults.timeout || DEFAULT_PAY_TIMEOUT_MS,
          maxRedirects: 0,
          maxContentLength: options.maxBytes ?? MAX_V2_ANSWER_BYTES,
          validateStatus: () => true,
          ...(options.httpsAgent ? { httpsAgent: options.httpsAgent } : {}),
        }),
      );
      status = res.status;
      raw = typeof res.data === 'string' ? res.data : String(res.data ?? '');
    } catch (err) {
      throw unavailableFrom(api, err);
    }
    if (status < 200 || status >= 300) throw new PayUnavailableError(`${api}: HTTP ${status}`);
    return raw;
  }
}

function xmlFields(params: V2Params): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    out[name] = typeof value === 'number' ? value : String(value);
  }
  return out;
}
