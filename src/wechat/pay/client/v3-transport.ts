import { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { HttpService } from '@nestjs/axios';
import { firstValueFrom } from 'rxjs';
import { Clock } from '../../../common/clock';
import { AppConfig } from '../../../config/app-config';
import { buildV3Authorization, rsaPrivateKey } from '../crypto/v3-sign';
import type { V3RawResponse, V3Transport } from '../notify/platform-certificates';
import { DEFAULT_PAY_TIMEOUT_MS } from '../pay.client';
import { PayUnavailableError, unavailableFrom } from '../pay-errors';

/** The most an API answer may weigh. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** A busy merchant's day of trade lines (the file behind `download_url`). */
export const MAX_V3_BILL_BYTES = 64 * 1024 * 1024;

/**
 * Signs and sends APIv3 requests, returning the raw answer (bytes untouched, for the signature).
 * The merchant private key is read on first use: in sandbox mode the file may appear after boot.
 */
export class V3HttpTransport implements V3Transport {
  private privateKey: KeyObject | null = null;

  constructor(
    private readonly http: HttpService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  merchantPrivateKey(): KeyObject {
    if (this.privateKey) return this.privateKey;
    const path = this.config.pay.privateKeyPath;
    if (!path) throw new PayUnavailableError('merchant private key not configured (WECHAT_PAY_PRIVATE_KEY_PATH)');
    let pem: string;
    try {
      pem = readFileSync(path, 'utf8');
    } catch (err) {
      throw new PayUnavailableError(`merchant private key not readable (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      this.privateKey = rsaPrivateKey(pem);
    } catch {
      throw new PayUnavailableError('merchant private key is not an RSA private key in PEM');
    }
    return this.privateKey;
  }

  send(api: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<V3RawResponse> {
    return this.sendTo(api, method, `${this.config.pay.base}${path}`, body);
  }

  /** A signed GET of an absolute URL WeChat handed out (the bill's `download_url`); the answer is not signed. */
  download(api: string, url: string): Promise<V3RawResponse> {
    return this.sendTo(api, 'GET', url, undefined, MAX_V3_BILL_BYTES);
  }

  private async sendTo(
    api: string,
    method: 'GET' | 'POST',
    url: string,
    body?: unknown,
    maxBytes = MAX_RESPONSE_BYTES,
  ): Promise<V3RawResponse> {
    const { mchId, certSerial } = this.config.pay;
    // The signed path is the one on the wire, base path included (the sandbox is mounted under a prefix).
    const parsed = new URL(url);
    const bodyText = body === undefined ? '' : JSON.stringify(body);
    const authorization = buildV3Authorization({
      mchid: mchId,
      serialNo: certSerial,
      privateKey: this.merchantPrivateKey(),
      method,
      pathWithQuery: parsed.pathname + parsed.search,
      body: bodyText,
      timestamp: this.clock.nowSeconds(),
    });
    const headers: Record<string, string> = {
      Authorization: authorization,
      Accept: 'application/json',
      // WeChat Pay refuses APIv3 requests without a User-Agent.
      'User-Agent': `image-classifier-wechat/${this.config.version} node/${process.versions.node}`,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
    try {
      const res = await firstValueFrom(
        this.http.request<ArrayBuffer | Buffer>({
          method,
          url,
          data: body === undefined ? undefined : bodyText,
          headers,
          responseType: 'arraybuffer',
          transformRequest: [(d: unknown) => d],
          transformResponse: [(d: unknown) => d],
          timeout: this.http.axiosRef.defaults.timeout || DEFAULT_PAY_TIMEOUT_MS,
          maxRedirects: 0,
          maxContentLength: maxBytes,
          validateStatus: () => true,
        }),
      );
      return { status: res.status, headers: plainHeaders(res.headers), body: toBuffer(res.data) };
    } catch (err) {
      throw unavailableFrom(api, err);
    }
  }
}

function plainHeaders(headers: unknown): Record<string, string> {
  const source = (headers as { toJSON?: () => Record<string, unknown> })?.toJSON?.() ?? (headers as Record<string, unknown>) ?? {};
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (typeof value === 'string') out[name.toLowerCase()] = value;
    else if (typeof value === 'number') out[name.toLowerCase()] = String(value);
    else if (Array.isArray(value) && value.length === 1) out[name.toLowerCase()] = String(value[0]);
  }
  return out;
}

function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return Buffer.alloc(0);
}
