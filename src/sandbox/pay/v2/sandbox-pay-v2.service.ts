import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { V2SignType, v2Verify } from '../../../wechat/pay/crypto/v2-sign';
import { parseWechatXml } from '../../../wechat/xml';
import { SandboxReply } from '../../core/sandbox-reply';
import { SandboxStore } from '../../core/sandbox.store';
import { SandboxV2BillsService } from './sandbox-v2-bills.service';
import { SandboxV2OrdersService } from './sandbox-v2-orders.service';
import { SandboxV2RefundsService } from './sandbox-v2-refunds.service';
import { SandboxV2Replies, V2Fields } from './sandbox-v2-replies.service';

export type V2Endpoint = 'unifiedorder' | 'orderquery' | 'closeorder' | 'refund' | 'refundquery' | 'downloadbill';

const MAX_XML_BYTES = 1024 * 1024;

/**
 * WeChat Pay v2 (XML): the checks every request passes first (XML, merchant, required parameters,
 * `sign`, appid), then `pay/unifiedorder`, `pay/orderquery`, `pay/closeorder` (SandboxV2OrdersService),
 * `secapi/pay/refund`, `pay/refundquery` (SandboxV2RefundsService) and `pay/downloadbill`
 * (SandboxV2BillsService). The notifications WeChat Pay sends are SandboxV2Documents'.
 *
 * Answers follow WeChat's two layers (SandboxV2Replies): a request WeChat cannot accept at all (not
 * XML, unknown merchant, missing or malformed parameter, bad `sign`) gets `return_code=FAIL` with a
 * `return_msg` and no signature; anything past the signature check gets `return_code=SUCCESS`,
 * is signed with the request's sign type (MD5 unless `sign_type=HMAC-SHA256`), and reports business
 * failures as `result_code=FAIL` + `err_code`/`err_code_des`.
 */
@Injectable()
export class SandboxPayV2Service {
  private readonly logger = new Logger('Sandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly v2Orders: SandboxV2OrdersService,
    private readonly v2Refunds: SandboxV2RefundsService,
    private readonly v2Bills: SandboxV2BillsService,
    private readonly replies: SandboxV2Replies,
    private readonly config: AppConfig,
  ) {}

  async handle(endpoint: V2Endpoint, body: unknown): Promise<SandboxReply> {
    this.store.count('pay_requests_v2');
    if (!Buffer.isBuffer(body) || body.length === 0) return this.replies.fail('XML格式错误');
    let f: V2Fields;
    try {
      f = await parseWechatXml(body, MAX_XML_BYTES);
    } catch {
      return this.replies.fail('XML格式错误');
    }
    for (const name of ['appid', 'mch_id', 'nonce_str', 'sign']) {
      if (!f[name]) return this.replies.fail(`缺少参数${name}`);
    }
    if (f.mch_id !== this.config.pay.mchId) return this.replies.fail('mch_id参数错误');
    if (!v2Verify(f, this.config.pay.apiKey)) {
      this.logger.debug(`v2 ${endpoint}: bad sign`);
      return this.replies.fail('签名错误');
    }
    const signType: V2SignType = f.sign_type === 'HMAC-SHA256' ? 'HMAC-SHA256' : 'MD5';
    if (f.appid !== this.config.wechat.appId) return this.replies.business(f, signType, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配');
    switch (endpoint) {
      case 'unifiedorder':
        return this.v2Orders.unifiedOrder(f, signType);
      case 'orderquery':
        return this.v2Orders.orderQuery(f, signType);
      case 'closeorder':
        return this.v2Orders.closeOrder(f, signType);
      case 'refund':
        return this.v2Refunds.refund(f, signType);
      case 'refundquery':
        return this.v2Refunds.refundQuery(f, signType);
      case 'downloadbill':
        return this.v2Bills.downloadBill(f);
    }
  }
}
