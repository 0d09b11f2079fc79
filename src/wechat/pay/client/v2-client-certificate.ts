import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { createSecureContext } from 'node:tls';
import { AppConfig } from '../../../config/app-config';
import { PayApiError } from '../pay-errors';

/**
 * The merchant API client certificate v2 `secapi/*` calls (refunds) present over TLS: PKCS#12,
 * password = mch id (`WECHAT_PAY_CLIENT_CERT_P12_PATH`). Loaded on first use, then kept in one
 * keep-alive https Agent.
 */
export class V2ClientCertificate {
  private agent: HttpsAgent | undefined;

  constructor(private readonly config: AppConfig) {}

  /**
   * The https Agent carrying the certificate. Over plain HTTP (the sandbox, tests) there is no TLS
   * to authenticate: none is needed, and undefined is returned.
   */
  agentFor(api: string): HttpsAgent | undefined {
    if (this.agent) return this.agent;
    const path = this.config.pay.clientCertP12Path;
    const overTls = this.config.pay.base.startsWith('https:');
    if (!path) {
      if (overTls)
        throw new PayApiError('CLIENT_CERT_MISSING', `${api}: needs the merchant API client certificate (WECHAT_PAY_CLIENT_CERT_P12_PATH)`);
      return undefined;
    }
    let pfx: Buffer;
    try {
      pfx = readFileSync(path);
    } catch (err) {
      throw new PayApiError(
        'CLIENT_CERT_UNREADABLE',
        `${api}: client certificate not readable (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    const passphrase = this.config.pay.mchId;
    try {
      createSecureContext({ pfx, passphrase }); // fail here, with a reason, rather than at the handshake
    } catch (err) {
      const reason = /unsupported/i.test((err as Error).message)
        ? 'legacy PKCS#12 encryption (RC2) that OpenSSL 3 refuses: re-export it, e.g. openssl pkcs12 -legacy -in apiclient_cert.p12 -nodes | openssl pkcs12 -export -out apiclient_cert.p12'
        : 'not a PKCS#12 file whose password is the mch id';
      throw new PayApiError('CLIENT_CERT_INVALID', `${api}: client certificate unusable (${reason})`);
    }
    this.agent = new HttpsAgent({ pfx, passphrase, keepAlive: true });
    return this.agent;
  }
}
