import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../../../common/clock';
import { randomNonce } from '../../../wechat/nonce';
import { v3ResponseMessage, v3SignRsa } from '../../../wechat/pay/crypto/v3-sign';
import { SandboxFaultsService } from '../../core/sandbox-faults.service';
import { SandboxReply } from '../../core/sandbox-reply';
import { SandboxStore } from '../../core/sandbox.store';
import { SandboxKeysService } from '../sandbox-keys.service';

/** Signed response headers of WeChat Pay APIv3 (and of its notifications). */
export interface V3SignedHeaders {
  'Wechatpay-Timestamp': string;
  'Wechatpay-Nonce': string;
  'Wechatpay-Signature': string;
  'Wechatpay-Serial': string;
  'Wechatpay-Signature-Type': string;
}

/**
 * How WeChat Pay APIv3 answers: every response (refusals too) is signed with the platform key over
 * `TIMESTAMP\nNONCE\nBODY\n` in `Wechatpay-*` headers; refusals are `{code, message}` in WeChat's
 * own wording.
 */
@Injectable()
export class SandboxV3Replies {
  constructor(
    private readonly store: SandboxStore,
    private readonly faults: SandboxFaultsService,
    private readonly keys: SandboxKeysService,
    private readonly clock: Clock,
  ) {}

  /**
   * Fresh `Wechatpay-*` headers over `body`, signed with the platform private key. The serial is the
   * public key id unless the `v3_serial` knob asks for the certificate serial; the `bad_signature`
   * fault signs a different message.
   */
  signHeaders(body: string): V3SignedHeaders {
    const timestamp = String(this.clock.nowSeconds());
    const nonce = randomNonce(32);
    const signed = this.faults.badSignature ? `${body} ` : body;
    return {
      'Wechatpay-Timestamp': timestamp,
      'Wechatpay-Nonce': nonce,
      'Wechatpay-Signature': v3SignRsa(v3ResponseMessage(timestamp, nonce, signed), this.keys.keys.platformPrivateKey),
      'Wechatpay-Serial': this.keys.responseSerial(this.store.faults.v3_serial),
      'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
    };
  }

  signedJson(status: number, payload: unknown): SandboxReply {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const headers: Record<string, string> = { ...this.signHeaders(body), 'Request-ID': randomUUID() };
    if (body) headers['Content-Type'] = 'application/json; charset=utf-8';
    return { status, headers, body };
  }

  error(status: number, code: string, message: string): SandboxReply {
    return this.signedJson(status, { code, message });
  }

  missing(field: string, source: 'body' | 'query' = 'body'): SandboxReply {
    return this.error(400, 'PARAM_ERROR', `输入源“/${source}/${field}”映射到值字段“${field}”必填性规则校验失败，此字段为必填项`);
  }

  /** WeChat's answer to a string rule broken: PARAM_ERROR naming the field, its label and the rule, with the value in `detail`. */
  stringRule(field: string, label: string, value: unknown, rule: string): SandboxReply {
    return this.signedJson(400, {
      code: 'PARAM_ERROR',
      detail: { location: 'body', value },
      message: `输入源“/body/${field}”映射到值字段“${label}”字符串规则校验失败，${rule}`,
    });
  }

  invalid(field: string): SandboxReply {
    return this.error(400, 'PARAM_ERROR', `输入源“/body/${field}”映射到值字段“${field}”格式或取值错误`);
  }
}
