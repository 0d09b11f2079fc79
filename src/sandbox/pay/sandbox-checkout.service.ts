import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import { v2Sign } from '../../wechat/pay/crypto/v2-sign';
import { jsapiPayMessage } from '../../wechat/pay/crypto/v3-sign';
import { safeEqual } from '../../wechat/signature';
import { SandboxOrder } from '../core/sandbox-records';
import { json, SandboxReply } from '../core/sandbox-reply';
import { SandboxStore } from '../core/sandbox.store';
import { PayActionDto, RenotifyActionDto } from './dto/sandbox-pay-actions.dto';
import { SandboxNotifyService } from './sandbox-notify.service';
import { SandboxPayOrdersService } from './sandbox-pay-orders.service';
import { SandboxV3AuthService } from './v3/sandbox-v3-auth.service';

function prepayIdOf(value: string): string {
  return value.startsWith('prepay_id=') ? value.slice('prepay_id='.length) : value;
}

/** The payer's side of WeChat Pay: the JSAPI pay sheet's checks and the "pay" button. */
@Injectable()
export class SandboxCheckoutService {
  private readonly logger = new Logger('Sandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly orders: SandboxPayOrdersService,
    private readonly notify: SandboxNotifyService,
    private readonly v3Auth: SandboxV3AuthService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * `getBrandWCPayRequest` params as a page passes them: every value a string, `package` =
   * `prepay_id=…`, and `paySign` valid for the order's protocol — v2 orders MD5 or HMAC-SHA256 over
   * `appId, nonceStr, package, signType, timeStamp` with the API key; v3 orders `RSA` over
   * `appId\ntimeStamp\nnonceStr\npackage\n` with the merchant key.
   */
  verifyPaySign(params: unknown): SandboxReply {
    const refuse = (error: string) => json({ ok: false, error });
    if (typeof params !== 'object' || params === null) return refuse('参数错误：缺少支付参数');
    const p = params as Record<string, unknown>;
    for (const name of ['appId', 'timeStamp', 'nonceStr', 'package', 'signType', 'paySign']) {
      if (typeof p[name] !== 'string' || p[name] === '') return refuse(`参数错误：${name} 必须是非空字符串`);
    }
    const { appId, timeStamp, nonceStr, signType, paySign } = p as Record<string, string>;
    const pkg = p.package as string;
    if (!/^[0-9]{1,15}$/.test(timeStamp)) return refuse('参数错误：timeStamp 必须是秒级时间戳字符串');
    if (!pkg.startsWith('prepay_id=')) return refuse('参数错误：package 必须是 prepay_id=…');
    const order = this.store.orderByPrepayId(prepayIdOf(pkg));
    if (!order) return refuse('prepay_id 不存在');
    if (appId !== order.appid) return refuse('appId 与下单时不一致');
    let valid: boolean;
    if (order.version === 'v3') {
      if (signType !== 'RSA') return refuse('APIv3 订单的 signType 必须是 RSA');
      valid = this.v3Auth.verifyRsaPaySign(jsapiPayMessage(appId, timeStamp, nonceStr, pkg), paySign);
    } else {
      if (signType !== 'MD5' && signType !== 'HMAC-SHA256') return refuse('v2 订单的 signType 必须是 MD5 或 HMAC-SHA256');
      valid = safeEqual(v2Sign({ appId, timeStamp, nonceStr, package: pkg, signType }, this.config.pay.apiKey, signType), paySign);
    }
    if (!valid) return refuse('支付验证签名失败');
    const state = this.payable(order);
    if (state) return refuse(state);
    return json({
      ok: true,
      version: order.version,
      out_trade_no: order.outTradeNo,
      description: order.description,
      amount_fen: order.totalFen,
      openid: order.openid,
    });
  }

  /** Why an order cannot be paid now, or null. */
  private payable(order: SandboxOrder): string | null {
    if (order.state === 'SUCCESS') return '该订单已支付';
    if (order.state === 'CLOSED') return '订单已关闭';
    if (this.clock.nowMs() >= order.expiresAt) return '订单已过期';
    return null;
  }

  /** The payer confirms (or fails, or cancels) in the pay sheet; WeChat Pay then notifies the merchant. */
  async pay(dto: PayActionDto): Promise<SandboxReply> {
    const order = this.store.orderByPrepayId(prepayIdOf(dto.prepay_id));
    if (!order) return json({ ok: false, error: 'unknown prepay_id' }, 404);
    if (dto.result === 'cancel') {
      return json({ ok: true, result: 'cancel', out_trade_no: order.outTradeNo, trade_state: order.state, notify: null });
    }
    const refusal = this.payable(order);
    if (refusal) return json({ ok: false, error: refusal, out_trade_no: order.outTradeNo, trade_state: order.state }, 409);
    if (dto.result === 'success') this.orders.markPaid(order);
    else this.orders.markFailed(order);
    this.logger.debug(`order ${order.outTradeNo}: payer chose ${dto.result}, notify ${dto.notify ?? 'now'}`);
    const notify = await this.notify.deliver(order, dto.notify ?? 'now', { delayMs: dto.delay_ms, copies: dto.copies });
    return json({
      ok: true,
      result: dto.result,
      out_trade_no: order.outTradeNo,
      transaction_id: order.transactionId ?? null,
      trade_state: order.state,
      notify,
    });
  }

  /** Sends the notification of a paid (or failed v2) order again, as WeChat's later retries do. */
  async renotify(dto: RenotifyActionDto): Promise<SandboxReply> {
    const order = dto.prepay_id
      ? this.store.orderByPrepayId(prepayIdOf(dto.prepay_id))
      : dto.out_trade_no
        ? this.store.orderByOutTradeNo(dto.out_trade_no)
        : undefined;
    if (!order) return json({ ok: false, error: 'unknown order (give prepay_id or out_trade_no)' }, 404);
    if (order.state !== 'SUCCESS' && order.state !== 'PAYERROR') {
      return json({ ok: false, error: `order is ${order.state}: nothing to notify` }, 409);
    }
    return json({ ok: true, out_trade_no: order.outTradeNo, notify: await this.notify.deliver(order, 'now') });
  }
}
