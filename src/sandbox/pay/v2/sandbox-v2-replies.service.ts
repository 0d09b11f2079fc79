import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { randomNonce } from '../../../wechat/nonce';
import { V2Params, v2Sign, V2SignType } from '../../../wechat/pay/crypto/v2-sign';
import { buildXml } from '../../../wechat/xml';
import { SandboxFaultsService } from '../../core/sandbox-faults.service';
import { SandboxReply } from '../../core/sandbox-reply';

/** The fields of a v2 request, as parsed from its XML. */
export type V2Fields = Record<string, string>;
/** The fields of a v2 answer or notification, before they are written as XML. */
export type V2Out = Record<string, string | number>;

export function xmlReply(fields: V2Out): SandboxReply {
  return { status: 200, headers: { 'Content-Type': 'text/xml; charset=utf-8' }, body: buildXml(fields) };
}

/**
 * How WeChat Pay v2 answers, in two layers: a request it cannot accept at all gets
 * `return_code=FAIL` with a `return_msg` and no signature (`fail`); anything past the signature
 * check gets `return_code=SUCCESS`, signed with the request's sign type, and reports business
 * failures as `result_code=FAIL` + `err_code`/`err_code_des` (`business`).
 */
@Injectable()
export class SandboxV2Replies {
  constructor(
    private readonly faults: SandboxFaultsService,
    private readonly config: AppConfig,
  ) {}

  base(f: V2Fields): V2Out {
    const out: V2Out = { return_code: 'SUCCESS', return_msg: 'OK', appid: f.appid, mch_id: f.mch_id };
    if (f.device_info) out.device_info = f.device_info;
    out.nonce_str = randomNonce(32);
    return out;
  }

  business(f: V2Fields, signType: V2SignType, errCode: string, errCodeDes: string): SandboxReply {
    return this.signed({ ...this.base(f), result_code: 'FAIL', err_code: errCode, err_code_des: errCodeDes }, signType);
  }

  fail(message: string): SandboxReply {
    return xmlReply({ return_code: 'FAIL', return_msg: message });
  }

  sign(fields: V2Params, signType: V2SignType): string {
    // The bad_signature fault signs with another key: well-formed, but it never verifies.
    const key = this.faults.badSignature ? `${this.config.pay.apiKey}x` : this.config.pay.apiKey;
    return v2Sign(fields, key, signType);
  }

  signed(fields: V2Out, signType: V2SignType): SandboxReply {
    return xmlReply({ ...fields, sign: this.sign(fields, signType) });
  }
}
