import type { Logger } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { WechatPayCryptoError } from '../../errors';
import { aesGcmDecrypt } from '../crypto/aes-gcm';
import type { V3VerifyFailure } from '../crypto/v3-verifier';
import type { NotificationHeaders, PayNotification, RefundNotification, RefundOutcome } from '../pay.client';
import { PayNotificationError } from '../pay-errors';
import { bodyShape, parseFen, parseObject, str } from '../wire/fields';
import { parseV3Time } from '../wire/times';
import { headerValue } from './notification-headers';
import { PlatformCertificates } from './platform-certificates';

const REFUND_EVENTS: Record<string, RefundOutcome> = {
  'REFUND.SUCCESS': 'SUCCESS',
  'REFUND.ABNORMAL': 'ABNORMAL',
  'REFUND.CLOSED': 'CLOSED',
};

const NOTIFY_FAILURE: Record<V3VerifyFailure, PayNotificationError['reason']> = {
  malformed: 'malformed',
  signtest_probe: 'signtest_probe',
  stale_timestamp: 'stale_timestamp',
  unknown_serial: 'bad_signature',
  certificate_expired: 'bad_signature',
  bad_signature: 'bad_signature',
};

/**
 * Verifies and decodes APIv3 notifications (docs/callbacks.md §3): the `Wechatpay-*` signature over
 * the raw body with the key its serial names (PlatformCertificates), then the AEAD_AES_256_GCM
 * `resource` under the APIv3 key. TRANSACTION.SUCCESS is a payment, REFUND.* a refund result, any
 * other event is reported as verified and nothing more. Pure but for the certificate download an
 * unknown serial may trigger.
 */
export class V3NotificationVerifier {
  constructor(
    private readonly config: AppConfig,
    private readonly certificates: PlatformCertificates,
    private readonly logger: Logger,
  ) {}

  async verify(headers: NotificationHeaders, rawBody: Buffer): Promise<PayNotification> {
    if (bodyShape(rawBody) === 'xml') throw new PayNotificationError('wrong_protocol', 'v2 notification sent to a v3 configuration');
    const result = await this.certificates.verifyNotification({
      timestamp: headerValue(headers, 'wechatpay-timestamp') ?? '',
      nonce: headerValue(headers, 'wechatpay-nonce') ?? '',
      signature: headerValue(headers, 'wechatpay-signature') ?? '',
      serial: headerValue(headers, 'wechatpay-serial') ?? '',
      body: rawBody,
    });
    if (!result.ok) throw new PayNotificationError(NOTIFY_FAILURE[result.reason], `notification signature refused (${result.reason})`);

    const envelope = parseObject(rawBody.toString('utf8'));
    const resource = envelope?.resource as Record<string, unknown> | undefined;
    const eventType = envelope?.event_type;
    if (!envelope || typeof eventType !== 'string' || typeof resource !== 'object' || resource === null) {
      throw new PayNotificationError('malformed', 'notification without event_type or resource');
    }
    const plaintext = this.decrypt(resource);
    const data = parseObject(plaintext);
    if (!data) throw new PayNotificationError('malformed', 'decrypted resource is not a JSON object');
    // Every resource names its merchant (refunds carry mchid but no appid): another merchant's is refused.
    if (data.mchid !== undefined && data.mchid !== this.config.pay.mchId) {
      throw new PayNotificationError('wrong_merchant', 'notification mchid is not this merchant');
    }
    const refundOutcome = REFUND_EVENTS[eventType];
    if (refundOutcome) return this.refundNotification(refundOutcome, data, plaintext);
    if (eventType !== 'TRANSACTION.SUCCESS') return { kind: 'other', eventType };

    if (data.appid !== this.config.wechat.appId || data.mchid !== this.config.pay.mchId) {
      throw new PayNotificationError('wrong_merchant', 'notification appid/mchid is not this merchant');
    }
    const orderNo = str(data.out_trade_no);
    const transactionId = str(data.transaction_id);
    const totalFen = parseFen(((data.amount ?? {}) as Record<string, unknown>).total);
    const payerOpenid = str(((data.payer ?? {}) as Record<string, unknown>).openid);
    if (!orderNo || !transactionId || totalFen === null || !payerOpenid) {
      throw new PayNotificationError('malformed', 'transaction misses out_trade_no, transaction_id, amount.total or payer.openid');
    }
    return {
      kind: 'payment',
      success: data.trade_state === 'SUCCESS',
      orderNo,
      transactionId,
      totalFen,
      payerOpenid,
      paidAt: parseV3Time(str(data.success_time)) ?? undefined,
      raw: plaintext,
    };
  }

  /** The refund notify URL: the same verification, and only a REFUND.* event is accepted. */
  async verifyRefund(headers: NotificationHeaders, rawBody: Buffer): Promise<RefundNotification> {
    const n = await this.verify(headers, rawBody);
    if (n.kind !== 'refund') throw new PayNotificationError('malformed', 'not a refund notification');
    return n;
  }

  /** The `resource` decrypted with the APIv3 key; anything short of an authentic plaintext is decrypt_failed. */
  private decrypt(resource: Record<string, unknown>): string {
    try {
      if (resource.algorithm !== 'AEAD_AES_256_GCM') throw new WechatPayCryptoError('invalid_input', 'unsupported algorithm');
      return aesGcmDecrypt({
        key: this.config.pay.apiV3Key,
        nonce: typeof resource.nonce === 'string' ? resource.nonce : '',
        associatedData: typeof resource.associated_data === 'string' ? resource.associated_data : '',
        ciphertext: typeof resource.ciphertext === 'string' ? resource.ciphertext : '',
      });
    } catch (err) {
      const why = err instanceof WechatPayCryptoError ? err.code : 'error';
      if (why === 'invalid_key') this.logger.error('WECHAT_PAY_API_V3_KEY is not 32 bytes: v3 notifications cannot be decrypted');
      throw new PayNotificationError('decrypt_failed', `notification resource not decrypted (${why})`);
    }
  }

  /** The decrypted `refund` resource of a REFUND.* event; its mchid must be ours. */
  private refundNotification(status: RefundOutcome, data: Record<string, unknown>, plaintext: string): RefundNotification {
    if (data.mchid !== this.config.pay.mchId)
      throw new PayNotificationError('wrong_merchant', 'refund notification mchid is not this merchant');
    const amount = (data.amount ?? {}) as Record<string, unknown>;
    const orderNo = str(data.out_trade_no);
    const refundNo = str(data.out_refund_no);
    const refundFen = parseFen(amount.refund);
    const totalFen = parseFen(amount.total);
    if (!orderNo || !refundNo || refundFen === null || totalFen === null) {
      throw new PayNotificationError('malformed', 'refund misses out_trade_no, out_refund_no, amount.refund or amount.total');
    }
    if (data.refund_status !== undefined && data.refund_status !== status) {
      throw new PayNotificationError('malformed', 'refund_status contradicts the event type');
    }
    return {
      kind: 'refund',
      status,
      orderNo,
      refundNo,
      wxRefundId: str(data.refund_id) ?? '',
      transactionId: str(data.transaction_id),
      refundFen,
      totalFen,
      successAt: parseV3Time(str(data.success_time)) ?? undefined,
      raw: plaintext,
    };
  }
}
