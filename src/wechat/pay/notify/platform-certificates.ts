import { readFileSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { Clock } from '../../../common/clock';
import { AppConfig } from '../../../config/app-config';
import { WechatPayCryptoError } from '../../errors';
import { aesGcmDecrypt } from '../crypto/aes-gcm';
import { V3SignatureVerifier, V3VerifyInput, V3VerifyResult } from '../crypto/v3-verifier';
import { PayApiError, PayResponseSignatureError, PayUnavailableError } from '../pay-errors';
import { parseObject } from '../wire/fields';

/** A v3 answer exactly as received: the signature covers the raw body bytes. Header names lower-case. */
export interface V3RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Sends one signed APIv3 request (implemented by client/v3-transport.ts). */
export interface V3Transport {
  send(api: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<V3RawResponse>;
}

export type V3SignedInput = Omit<V3VerifyInput, 'nowSeconds' | 'maxSkewSeconds'>;

/** Routine refresh period of the platform certificates. */
export const CERTIFICATE_REFRESH_MS = 12 * 3600 * 1000;
/** An unknown `Wechatpay-Serial` triggers a download at most this often (anyone can send one). */
export const UNKNOWN_SERIAL_REFRESH_MS = 60 * 1000;
/** After a failed download, routine refreshes wait this long (public-key-only merchants may never get certificates). */
const FAILED_REFRESH_RETRY_MS = 5 * 60 * 1000;

interface CertificateItem {
  serial_no?: unknown;
  effective_time?: unknown;
  expire_time?: unknown;
  encrypt_certificate?: { algorithm?: unknown; nonce?: unknown; associated_data?: unknown; ciphertext?: unknown };
}

/**
 * The keys that verify WeChat Pay's APIv3 notifications (notify/) and the answers to our calls
 * (client/ asks here before using one), held in one shared
 * V3SignatureVerifier: the WeChat Pay public key (`WECHAT_PAY_PUBLIC_KEY_ID`/`_PATH`, read lazily
 * because the sandbox may write the file after boot) and the platform certificates downloaded from
 * `GET /v3/certificates`, side by side.
 *
 * Refresh: in the background when the last download is 12 h old (5 min after a failed one), and
 * on an unknown serial at most once a minute (waited for). Certificates are never dropped: a
 * rotated-out one keeps verifying until its own expiry, after which the verifier refuses it
 * (`certificate_expired`).
 *
 * Bootstrap (the download's own answer): each certificate arrives AEAD-encrypted with the APIv3
 * key, which only WeChat Pay and this merchant hold, so a certificate that decrypts and
 * authenticates is genuine. The answer's signature is then checked with the key its
 * `Wechatpay-Serial` names, looked up first among the keys already trusted (public key, earlier
 * certificates) and else among the certificates in the answer itself — what the official SDKs do
 * when no key is known yet. A signature by a key found in neither place is refused, and so is any
 * certificate whose `serial_no` differs from the certificate's own serial.
 */
export class PlatformCertificates {
  private readonly logger = new Logger(PlatformCertificates.name);
  private readonly verifier = new V3SignatureVerifier();
  private publicKeyPem: string | null = null;
  private publicKeyMissingLogged = false;
  private readonly certificates = new Map<string, { expiresAt: Date }>();
  private lastAttemptMs: number | null = null;
  private lastAttemptOk = false;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly transport: V3Transport,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** Serials of the platform certificates loaded so far (diagnostics, tests). */
  certificateSerials(): string[] {
    return [...this.certificates.keys()];
  }

  /** Verifies an API answer before anything in it is used; throws PayResponseSignatureError. */
  async verifyResponse(api: string, res: V3RawResponse): Promise<void> {
    const result = await this.verify({
      timestamp: res.headers['wechatpay-timestamp'] ?? '',
      nonce: res.headers['wechatpay-nonce'] ?? '',
      signature: res.headers['wechatpay-signature'] ?? '',
      serial: res.headers['wechatpay-serial'] ?? '',
      body: res.body,
    });
    if (!result.ok) {
      this.logger.warn(`${api}: answer signature refused (${result.reason}); answer discarded`);
      throw new PayResponseSignatureError(`${api}: answer signature refused (${result.reason})`);
    }
  }

  /** Verifies a notification's signature headers over its raw body. */
  verifyNotification(input: V3SignedInput): Promise<V3VerifyResult> {
    return this.verify(input);
  }

  /** Downloads the certificates now (single flight). Throws the typed pay errors. */
  refresh(): Promise<void> {
    this.inFlight ??= this.download().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** Resolves when no download is under way (tests, orderly shutdown). Never rejects. */
  async settled(): Promise<void> {
    while (this.inFlight) await this.inFlight.catch(() => undefined);
  }

  /**
   * Verifies with the keys at hand. A routine refresh that is due runs in the background (nobody
   * waits for it: public-key-only merchants may never get certificates); only an unknown serial
   * waits for a download, at most once a minute, or joins the one under way.
   */
  private async verify(input: V3SignedInput): Promise<V3VerifyResult> {
    this.loadPublicKey();
    if (this.routineRefreshDue()) void this.tryRefresh(); // never rejects: failures are logged inside
    let result = this.verifier.verify({ ...input, nowSeconds: this.clock.nowSeconds() });
    if (!result.ok && result.reason === 'unknown_serial' && this.unknownSerialRefreshAllowed()) {
      await this.tryRefresh();
      result = this.verifier.verify({ ...input, nowSeconds: this.clock.nowSeconds() });
    }
    return result;
  }

  private routineRefreshDue(): boolean {
    if (this.inFlight) return false;
    if (this.lastAttemptMs === null) return true;
    return this.clock.nowMs() - this.lastAttemptMs >= (this.lastAttemptOk ? CERTIFICATE_REFRESH_MS : FAILED_REFRESH_RETRY_MS);
  }

  private unknownSerialRefreshAllowed(): boolean {
    if (this.inFlight) return true; // join the download under way
    return this.lastAttemptMs === null || this.clock.nowMs() - this.lastAttemptMs >= UNKNOWN_SERIAL_REFRESH_MS;
  }

  private async tryRefresh(): Promise<void> {
    try {
      await this.refresh();
    } catch (err) {
      this.logger.warn(`platform certificate download failed: ${(err as Error).message}`);
    }
  }

  private loadPublicKey(): void {
    const { publicKeyId, publicKeyPath } = this.config.pay;
    if (this.publicKeyPem || !publicKeyId || !publicKeyPath) return;
    try {
      const pem = readFileSync(publicKeyPath, 'utf8');
      this.verifier.addPublicKey(publicKeyId, pem);
      this.publicKeyPem = pem;
    } catch (err) {
      if (!this.publicKeyMissingLogged) {
        this.publicKeyMissingLogged = true;
        this.logger.warn(
          `WeChat Pay public key ${publicKeyId} not loaded yet (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}); will retry`,
        );
      }
    }
  }

  private async download(): Promise<void> {
    const api = 'v3/certificates';
    this.loadPublicKey();
    this.lastAttemptMs = this.clock.nowMs();
    this.lastAttemptOk = false;
    const res = await this.transport.send(api, 'GET', '/v3/certificates');
    const text = res.body.toString('utf8');
    if (res.status < 200 || res.status >= 300) {
      const answer = parseObject(text);
      const code = answer?.code;
      if (res.status >= 400 && res.status < 500 && typeof code === 'string') {
        throw new PayApiError(code, `${api}: ${typeof answer?.message === 'string' ? answer.message : ''}`, res.status);
      }
      throw new PayUnavailableError(`${api}: HTTP ${res.status}`);
    }
    const data = parseObject(text)?.data;
    if (!Array.isArray(data) || data.length === 0) throw new PayUnavailableError(`${api}: answer without certificates`);

    const candidate = new V3SignatureVerifier();
    if (this.publicKeyPem) candidate.addPublicKey(this.config.pay.publicKeyId, this.publicKeyPem);
    const loaded: Array<{ serial: string; pem: string; expiresAt: Date }> = [];
    for (const item of data as CertificateItem[]) {
      const serial = typeof item.serial_no === 'string' ? item.serial_no.toUpperCase() : '';
      const enc = item.encrypt_certificate ?? {};
      if (!serial || enc.algorithm !== 'AEAD_AES_256_GCM' || typeof enc.ciphertext !== 'string' || typeof enc.nonce !== 'string') {
        throw new PayUnavailableError(`${api}: certificate entry unreadable`);
      }
      let pem: string;
      try {
        pem = aesGcmDecrypt({
          key: this.config.pay.apiV3Key,
          nonce: enc.nonce,
          associatedData: typeof enc.associated_data === 'string' ? enc.associated_data : '',
          ciphertext: enc.ciphertext,
        });
        candidate.addCertificate(serial, pem);
      } catch (err) {
        const why = err instanceof WechatPayCryptoError ? err.code : 'serial_no does not match the certificate';
        throw new PayResponseSignatureError(`${api}: certificate ${serial} refused (${why})`);
      }
      const expiresAt = typeof item.expire_time === 'string' ? new Date(item.expire_time) : new Date(NaN);
      loaded.push({ serial, pem, expiresAt });
    }

    const signed: V3VerifyInput = {
      timestamp: res.headers['wechatpay-timestamp'] ?? '',
      nonce: res.headers['wechatpay-nonce'] ?? '',
      signature: res.headers['wechatpay-signature'] ?? '',
      serial: res.headers['wechatpay-serial'] ?? '',
      body: res.body,
      nowSeconds: this.clock.nowSeconds(),
    };
    const result = this.verifier.has(signed.serial) ? this.verifier.verify(signed) : candidate.verify(signed);
    if (!result.ok) throw new PayResponseSignatureError(`${api}: answer signature refused (${result.reason})`);

    for (const { serial, pem, expiresAt } of loaded) {
      const fresh = !this.certificates.has(serial);
      this.verifier.addCertificate(serial, pem);
      this.certificates.set(serial, { expiresAt });
      if (fresh)
        this.logger.log(
          `platform certificate ${serial} loaded (expires ${Number.isNaN(expiresAt.getTime()) ? '?' : expiresAt.toISOString()})`,
        );
    }
    this.lastAttemptOk = true;
  }
}
