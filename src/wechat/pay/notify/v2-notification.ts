import { AppConfig } from '../../../config/app-config';
import { WechatPayCryptoError, XmlRejectedError } from '../../errors';
import { parseWechatXml } from '../../xml';
import { decryptV2RefundReqInfo } from '../crypto/v2-refund-crypto';
import { v2Verify, verifyV2ResponseSign } from '../crypto/v2-sign';
import type { NotificationHeaders, PayNotification, RefundNotification } from '../pay.client';
import { PayNotificationError } from '../pay-errors';
import { bodyShape, parseFen, V2_REFUND_STATE } from '../wire/fields';
import { parseV2Time } from '../wire/times';
import { parseBillTime } from '../wire/trade-bill';
import { headerValue } from './notification-headers';

/**
 * Verifies and decodes a v2 payment notification (docs/callbacks.md §3). Pure: config in, result out.
 *
 * Notifications are verified by their own `sign_type` (absent → MD5). WeChat has been seen to sign
 * notifications of HMAC-SHA256 merchants with HMAC without saying so, so when the configured type
 * is HMAC-SHA256 an unlabelled notification may match either; both are keyed with the API key, so
 * this widens nothing an attacker could use.
 */
export async function verifyV2Notification(config: AppConfig, headers: NotificationHeaders, rawBody: Buffer): Promise<PayNotification> {
  const fields = await readNotificationXml(config, headers, rawBody);
  // A refund result that reached the pay notify URL (e.g. the console's default refund URL): decoded the same way.
  if (fields.req_info !== undefined) return decodeV2Refund(config, fields);
  if (fields.return_code !== 'SUCCESS') throw new PayNotificationError('return_fail', `return_code ${fields.return_code ?? '(missing)'}`);

  const { apiKey, signType } = config.pay;
  const signed =
    v2Verify(fields, apiKey) || (!fields.sign_type && signType === 'HMAC-SHA256' && verifyV2ResponseSign(fields, apiKey, 'HMAC-SHA256'));
  if (!signed) throw new PayNotificationError('bad_signature', 'notification sign does not verify');
  if (fields.appid !== config.wechat.appId || fields.mch_id !== config.pay.mchId) {
    throw new PayNotificationError('wrong_merchant', 'notification appid/mch_id is not this merchant');
  }

  const orderNo = fields.out_trade_no;
  if (!orderNo) throw new PayNotificationError('malformed', 'notification without out_trade_no');
  const raw = rawBody.toString('utf8');
  const paidAt = parseV2Time(fields.time_end) ?? undefined;
  if (fields.result_code !== 'SUCCESS') {
    return {
      kind: 'payment',
      success: false,
      orderNo,
      transactionId: fields.transaction_id ?? '',
      totalFen: parseFen(fields.total_fee) ?? 0,
      payerOpenid: fields.openid ?? '',
      paidAt,
      raw,
    };
  }
  const totalFen = parseFen(fields.total_fee);
  if (!fields.transaction_id || totalFen === null || !fields.openid) {
    throw new PayNotificationError('malformed', 'successful payment notification misses transaction_id, total_fee or openid');
  }
  return {
    kind: 'payment',
    success: true,
    orderNo,
    transactionId: fields.transaction_id,
    totalFen,
    payerOpenid: fields.openid,
    paidAt,
    raw,
  };
}

/**
 * Verifies and decodes a v2 refund notification (`WECHAT_PAY_REFUND_NOTIFY_URL`): `<xml>` with
 * return_code, appid, mch_id and `req_info`, no `sign`. Only `req_info` is authenticated (AES-256-ECB
 * under MD5 of the API key): the outer fields are checked but prove nothing, and what the decrypted
 * document says must still match a refund we asked for (the app side checks that).
 */
export async function verifyV2RefundNotification(
  config: AppConfig,
  headers: NotificationHeaders,
  rawBody: Buffer,
): Promise<RefundNotification> {
  const fields = await readNotificationXml(config, headers, rawBody);
  if (fields.req_info === undefined) throw new PayNotificationError('malformed', 'not a refund notification (no req_info)');
  return decodeV2Refund(config, fields);
}

/**
 * The notification's XML fields, under the callback caps (docs/limits.md): sized by the body parser,
 * fields counted before parsing. A v3 body (JSON, or v3 signature headers) is wrong_protocol.
 */
async function readNotificationXml(config: AppConfig, headers: NotificationHeaders, rawBody: Buffer): Promise<Record<string, string>> {
  const shape = bodyShape(rawBody);
  if (shape === 'json' || (shape !== 'xml' && headerValue(headers, 'wechatpay-signature') !== undefined)) {
    throw new PayNotificationError('wrong_protocol', 'v3 notification sent to a v2 configuration');
  }
  try {
    return await parseWechatXml(rawBody, config.inbound.callbackBodyLimitBytes, { maxFields: config.inbound.callbackMaxXmlFields });
  } catch (err) {
    const why = err instanceof XmlRejectedError ? err.reason : 'unparseable';
    throw new PayNotificationError('malformed', `notification XML rejected (${why})`);
  }
}

async function decodeV2Refund(config: AppConfig, fields: Record<string, string>): Promise<RefundNotification> {
  if (fields.return_code !== 'SUCCESS') throw new PayNotificationError('return_fail', `return_code ${fields.return_code ?? '(missing)'}`);
  if (fields.appid !== config.wechat.appId || fields.mch_id !== config.pay.mchId) {
    throw new PayNotificationError('wrong_merchant', 'refund notification appid/mch_id is not this merchant');
  }
  let xml: string;
  try {
    xml = decryptV2RefundReqInfo(fields.req_info, config.pay.apiKey);
  } catch (err) {
    throw new PayNotificationError(
      'decrypt_failed',
      `req_info not decrypted (${err instanceof WechatPayCryptoError ? err.code : 'error'})`,
    );
  }
  let info: Record<string, string>;
  try {
    info = await parseWechatXml(xml, 65536, { rootName: 'root' });
  } catch {
    // ECB has no MAC: a garbled block shows up here, as a document that does not parse.
    throw new PayNotificationError('decrypt_failed', 'req_info does not decrypt to a refund document');
  }
  const state = V2_REFUND_STATE[info.refund_status ?? ''];
  const refundFen = parseFen(info.refund_fee);
  const totalFen = parseFen(info.total_fee);
  if (!state || state === 'PROCESSING' || !info.out_refund_no || !info.out_trade_no || refundFen === null || totalFen === null) {
    throw new PayNotificationError(
      'malformed',
      'refund document misses out_refund_no, out_trade_no, refund_fee, total_fee or a final refund_status',
    );
  }
  return {
    kind: 'refund',
    status: state,
    orderNo: info.out_trade_no,
    refundNo: info.out_refund_no,
    wxRefundId: info.refund_id ?? '',
    transactionId: info.transaction_id || undefined,
    refundFen,
    totalFen,
    successAt: parseBillTime(info.success_time ?? '') ?? undefined,
    raw: xml,
  };
}
