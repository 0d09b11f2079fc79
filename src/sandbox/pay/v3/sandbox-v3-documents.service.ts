import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../../../common/clock';
import { toIsoShanghai } from '../../../common/time-format';
import { AppConfig } from '../../../config/app-config';
import { randomNonce } from '../../../wechat/nonce';
import { aesGcmEncrypt } from '../../../wechat/pay/crypto/aes-gcm';
import type { SandboxOrder, SandboxRefund } from '../../core/sandbox-records';
import { TRADE_STATE_DESC } from '../sandbox-pay-orders.service';

type Json = Record<string, unknown>;

const REFUND_EVENT = {
  SUCCESS: ['REFUND.SUCCESS', '退款成功'],
  CLOSED: ['REFUND.CLOSED', '退款关闭'],
  ABNORMAL: ['REFUND.ABNORMAL', '退款异常'],
} as const;

const TRADE_STATE_DESC_V3: Record<SandboxOrder['state'], string> = {
  ...TRADE_STATE_DESC,
  NOTPAY: '未支付',
  CLOSED: '已关闭',
};

/**
 * The JSON documents of WeChat Pay APIv3: the transaction and refund objects its queries answer, and
 * the TRANSACTION.SUCCESS / REFUND.* notifications carrying them AES-256-GCM encrypted with the
 * APIv3 key.
 */
@Injectable()
export class SandboxV3Documents {
  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** The transaction object of queries and of the encrypted notification resource. */
  transaction(order: SandboxOrder): Json {
    const paid = order.state === 'SUCCESS';
    const t: Json = {
      appid: order.appid,
      mchid: order.mchid,
      out_trade_no: order.outTradeNo,
      trade_type: order.tradeType,
      trade_state: order.state,
      trade_state_desc: TRADE_STATE_DESC_V3[order.state],
      attach: order.attach,
      payer: { openid: order.openid },
      amount: paid
        ? { total: order.totalFen, payer_total: order.totalFen, currency: order.currency, payer_currency: order.currency }
        : { total: order.totalFen, currency: order.currency, payer_currency: order.currency },
    };
    if (paid) {
      t.transaction_id = order.transactionId;
      t.bank_type = 'OTHERS';
      t.success_time = toIsoShanghai(new Date(order.paidAt ?? this.clock.nowMs()));
    }
    return t;
  }

  /** The notification body for a paid order (one `id` per notification; retries resend this body). */
  notificationBody(order: SandboxOrder): string {
    const nonce = randomNonce(12);
    const ciphertext = aesGcmEncrypt({
      key: this.config.pay.apiV3Key,
      nonce,
      associatedData: 'transaction',
      plaintext: JSON.stringify(this.transaction(order)),
    });
    return JSON.stringify({
      id: randomUUID(),
      create_time: toIsoShanghai(this.clock.now()),
      resource_type: 'encrypt-resource',
      event_type: 'TRANSACTION.SUCCESS',
      summary: '支付成功',
      resource: { original_type: 'transaction', algorithm: 'AEAD_AES_256_GCM', ciphertext, associated_data: 'transaction', nonce },
    });
  }

  /** The refund object of the refund API and (decrypted) of REFUND.* notifications. */
  refundObject(r: SandboxRefund): Json {
    const out: Json = {
      refund_id: r.refundId,
      out_refund_no: r.outRefundNo,
      transaction_id: r.transactionId,
      out_trade_no: r.outTradeNo,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      create_time: toIsoShanghai(new Date(r.createdAt)),
      status: r.state,
      funds_account: 'UNSETTLED',
      amount: {
        total: r.totalFen,
        refund: r.refundFen,
        payer_total: r.totalFen,
        payer_refund: r.refundFen,
        settlement_refund: r.refundFen,
        settlement_total: r.totalFen,
        discount_refund: 0,
        currency: 'CNY',
        refund_fee: 0,
      },
    };
    if (r.successAt !== undefined) out.success_time = toIsoShanghai(new Date(r.successAt));
    return out;
  }

  /** A REFUND.SUCCESS / REFUND.CLOSED / REFUND.ABNORMAL notification body for a refund with a result. */
  refundNotificationBody(r: SandboxRefund): string {
    const [eventType, summary] = REFUND_EVENT[r.state === 'PROCESSING' ? 'ABNORMAL' : r.state];
    const resource: Json = {
      mchid: this.config.pay.mchId,
      out_trade_no: r.outTradeNo,
      transaction_id: r.transactionId,
      out_refund_no: r.outRefundNo,
      refund_id: r.refundId,
      refund_status: r.state,
      user_received_account: '支付用户零钱',
      amount: { total: r.totalFen, refund: r.refundFen, payer_total: r.totalFen, payer_refund: r.refundFen },
    };
    if (r.successAt !== undefined) resource.success_time = toIsoShanghai(new Date(r.successAt));
    const nonce = randomNonce(12);
    const ciphertext = aesGcmEncrypt({
      key: this.config.pay.apiV3Key,
      nonce,
      associatedData: 'refund',
      plaintext: JSON.stringify(resource),
    });
    return JSON.stringify({
      id: randomUUID(),
      create_time: toIsoShanghai(this.clock.now()),
      resource_type: 'encrypt-resource',
      event_type: eventType,
      summary,
      resource: { original_type: 'refund', algorithm: 'AEAD_AES_256_GCM', ciphertext, associated_data: 'refund', nonce },
    });
  }
}
