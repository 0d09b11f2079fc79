import { createCipheriv, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from '../../src/config/app-config';
import { SANDBOX_KEY_FILES } from '../../src/config/sandbox-defaults';
import { randomNonce } from '../../src/wechat/nonce';
import { aesGcmEncrypt } from '../../src/wechat/pay/crypto/aes-gcm';
import { v2Sign } from '../../src/wechat/pay/crypto/v2-sign';
import { v3ResponseMessage, v3SignRsa } from '../../src/wechat/pay/crypto/v3-sign';
import { buildXml } from '../../src/wechat/xml';

/**
 * WeChat Pay notifications built the way WeChat builds them, with the sandbox's keys, so tests can
 * send storms, forgeries and replays that the sandbox's own pay action does not produce.
 */
export interface PaidFacts {
  orderNo: string;
  totalFen: number;
  openid: string;
  transactionId: string;
  paidAt?: Date;
}

export interface BuiltNotification {
  headers: Record<string, string>;
  body: string;
}

function shanghaiCompact(d: Date): string {
  return new Date(d.getTime() + 8 * 3600_000).toISOString().slice(0, 19).replace(/[-T:]/g, '');
}

/** The unsigned fields of a v2 payment notification, as WeChat Pay sends them. */
export function v2PaidFields(config: AppConfig, f: PaidFacts, nonceStr = randomNonce(16)): Record<string, string> {
  return {
    appid: config.wechat.appId,
    mch_id: config.pay.mchId,
    nonce_str: nonceStr,
    result_code: 'SUCCESS',
    return_code: 'SUCCESS',
    openid: f.openid,
    out_trade_no: f.orderNo,
    total_fee: String(f.totalFen),
    cash_fee: String(f.totalFen),
    fee_type: 'CNY',
    trade_type: 'JSAPI',
    bank_type: 'OTHERS',
    transaction_id: f.transactionId,
    time_end: shanghaiCompact(f.paidAt ?? new Date()),
  };
}

export function v2Notification(
  config: AppConfig,
  f: PaidFacts,
  tweak: Record<string, string> = {},
  opts: { key?: string; signType?: 'MD5' | 'HMAC-SHA256' } = {},
): BuiltNotification {
  const fields: Record<string, string> = { ...v2PaidFields(config, f), ...tweak };
  const signType = opts.signType ?? 'MD5';
  if (signType === 'HMAC-SHA256') fields.sign_type = 'HMAC-SHA256';
  fields.sign = v2Sign(fields, opts.key ?? config.pay.apiKey, signType);
  return { headers: { 'content-type': 'text/xml' }, body: buildXml(fields) };
}

export function sandboxPlatformKey(config: AppConfig): string {
  return readFileSync(join(config.dataDir, 'sandbox', SANDBOX_KEY_FILES.platformPrivateKey), 'utf8');
}

/** The decrypted resource of a TRANSACTION.SUCCESS notification, as WeChat Pay v3 sends it. */
export function v3TransactionResource(config: AppConfig, f: PaidFacts, tweak: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    appid: config.wechat.appId,
    mchid: config.pay.mchId,
    out_trade_no: f.orderNo,
    transaction_id: f.transactionId,
    trade_type: 'JSAPI',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'OTHERS',
    success_time: new Date((f.paidAt ?? new Date()).getTime() + 8 * 3600_000).toISOString().slice(0, 19) + '+08:00',
    payer: { openid: f.openid },
    amount: { total: f.totalFen, payer_total: f.totalFen, currency: 'CNY', payer_currency: 'CNY' },
    ...tweak,
  };
}

export function v3Notification(
  config: AppConfig,
  f: PaidFacts,
  opts: {
    tweak?: Record<string, unknown>;
    timestamp?: number;
    serial?: string;
    signature?: string;
    tamper?: boolean;
    apiV3Key?: string;
    eventType?: string;
  } = {},
): BuiltNotification {
  const transaction = v3TransactionResource(config, f, opts.tweak);
  const nonce = randomNonce(12);
  let ciphertext = aesGcmEncrypt({
    key: opts.apiV3Key ?? config.pay.apiV3Key,
    nonce,
    associatedData: 'transaction',
    plaintext: JSON.stringify(transaction),
  });
  if (opts.tamper) {
    const raw = Buffer.from(ciphertext, 'base64');
    raw[3] ^= 0x01;
    ciphertext = raw.toString('base64');
  }
  const body = JSON.stringify({
    id: randomNonce(24),
    create_time: new Date().toISOString(),
    resource_type: 'encrypt-resource',
    event_type: opts.eventType ?? 'TRANSACTION.SUCCESS',
    summary: '支付成功',
    resource: { original_type: 'transaction', algorithm: 'AEAD_AES_256_GCM', ciphertext, associated_data: 'transaction', nonce },
  });
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const headerNonce = randomNonce(32);
  const signature = opts.signature ?? v3SignRsa(v3ResponseMessage(timestamp, headerNonce, body), sandboxPlatformKey(config));
  return {
    headers: {
      'content-type': 'application/json',
      'wechatpay-timestamp': timestamp,
      'wechatpay-nonce': headerNonce,
      'wechatpay-signature': signature,
      'wechatpay-serial': opts.serial ?? config.pay.publicKeyId,
    },
    body,
  };
}

/** A refund result as WeChat reports it (amounts in fen). */
export interface RefundFacts {
  orderNo: string;
  refundNo: string;
  refundFen: number;
  totalFen: number;
  transactionId?: string;
  refundId?: string;
  status?: 'SUCCESS' | 'CLOSED' | 'ABNORMAL';
  successAt?: Date;
}

const V2_REFUND_STATUS = { SUCCESS: 'SUCCESS', CLOSED: 'REFUNDCLOSE', ABNORMAL: 'CHANGE' } as const;

/**
 * A v2 refund notification (`req_info` = AES-256-ECB of the `<root>` document under the lowercase
 * hex MD5 of the API key), written independently of src/wechat/pay/crypto/v2-refund-crypto.ts.
 */
export function v2RefundNotification(
  config: AppConfig,
  f: RefundFacts,
  opts: { key?: string; outer?: Record<string, string>; reqInfo?: string; info?: Record<string, string> } = {},
): BuiltNotification {
  const status = f.status ?? 'SUCCESS';
  const info: Record<string, string> = {
    transaction_id: f.transactionId ?? '4200000000000000000000000000',
    out_trade_no: f.orderNo,
    refund_id: f.refundId ?? '50000000000000000000000000000',
    out_refund_no: f.refundNo,
    total_fee: String(f.totalFen),
    refund_fee: String(f.refundFen),
    settlement_refund_fee: String(f.refundFen),
    refund_status: V2_REFUND_STATUS[status],
    refund_recv_accout: '支付用户零钱',
    refund_account: 'REFUND_SOURCE_RECHARGE_FUNDS',
    refund_request_source: 'API',
    ...(status === 'SUCCESS'
      ? {
          success_time: shanghaiCompact(f.successAt ?? new Date()).replace(
            /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/,
            '$1-$2-$3 $4:$5:$6',
          ),
        }
      : {}),
    ...opts.info,
  };
  const root = `<root>${Object.entries(info)
    .map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`)
    .join('')}</root>`;
  const key = Buffer.from(
    createHash('md5')
      .update(opts.key ?? config.pay.apiKey, 'utf8')
      .digest('hex'),
    'ascii',
  );
  const cipher = createCipheriv('aes-256-ecb', key, null);
  const reqInfo = opts.reqInfo ?? Buffer.concat([cipher.update(root, 'utf8'), cipher.final()]).toString('base64');
  const fields = {
    return_code: 'SUCCESS',
    appid: config.wechat.appId,
    mch_id: config.pay.mchId,
    nonce_str: randomNonce(32),
    req_info: reqInfo,
    ...opts.outer,
  };
  return { headers: { 'content-type': 'text/xml' }, body: buildXml(fields) };
}

/** A v3 REFUND.* notification: the `refund` resource AES-256-GCM encrypted, signed with the sandbox's platform key. */
export function v3RefundNotification(
  config: AppConfig,
  f: RefundFacts,
  opts: { tweak?: Record<string, unknown>; signature?: string; tamper?: boolean; apiV3Key?: string; timestamp?: number } = {},
): BuiltNotification {
  const status = f.status ?? 'SUCCESS';
  const refund = {
    mchid: config.pay.mchId,
    out_trade_no: f.orderNo,
    transaction_id: f.transactionId ?? '4200000000000000000000000000',
    out_refund_no: f.refundNo,
    refund_id: f.refundId ?? '50000000000000000000000000000',
    refund_status: status,
    ...(status === 'SUCCESS'
      ? { success_time: new Date((f.successAt ?? new Date()).getTime() + 8 * 3600_000).toISOString().slice(0, 19) + '+08:00' }
      : {}),
    user_received_account: '支付用户零钱',
    amount: { total: f.totalFen, refund: f.refundFen, payer_total: f.totalFen, payer_refund: f.refundFen },
    ...opts.tweak,
  };
  const nonce = randomNonce(12);
  let ciphertext = aesGcmEncrypt({
    key: opts.apiV3Key ?? config.pay.apiV3Key,
    nonce,
    associatedData: 'refund',
    plaintext: JSON.stringify(refund),
  });
  if (opts.tamper) {
    const raw = Buffer.from(ciphertext, 'base64');
    raw[3] ^= 0x01;
    ciphertext = raw.toString('base64');
  }
  const body = JSON.stringify({
    id: randomNonce(24),
    create_time: new Date().toISOString(),
    resource_type: 'encrypt-resource',
    event_type: `REFUND.${status}`,
    summary: '退款结果',
    resource: { original_type: 'refund', algorithm: 'AEAD_AES_256_GCM', ciphertext, associated_data: 'refund', nonce },
  });
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const headerNonce = randomNonce(32);
  const signature = opts.signature ?? v3SignRsa(v3ResponseMessage(timestamp, headerNonce, body), sandboxPlatformKey(config));
  return {
    headers: {
      'content-type': 'application/json',
      'wechatpay-timestamp': timestamp,
      'wechatpay-nonce': headerNonce,
      'wechatpay-signature': signature,
      'wechatpay-serial': config.pay.publicKeyId,
    },
    body,
  };
}
