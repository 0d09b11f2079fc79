import { Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { Clock } from '../../../common/clock';
import { AppConfig } from '../../../config/app-config';
import { parseV3Authorization, v3RequestMessage, v3VerifyRsa } from '../../../wechat/pay/crypto/v3-sign';
import { isFreshTimestamp } from '../../../wechat/signature';
import { SandboxReply } from '../../core/sandbox-reply';
import { V3_MAX_SKEW_SECONDS } from '../../core/sandbox.constants';
import { SandboxStore } from '../../core/sandbox.store';
import { SandboxKeysService } from '../sandbox-keys.service';
import { SandboxV3Replies } from './sandbox-v3-replies.service';

/**
 * The merchant's RSA signatures, checked with its public key. Every APIv3 request must carry
 * `Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,signature=…,timestamp=…,serial_no=…`
 * signed over `METHOD\nPATH_WITH_QUERY\nTIMESTAMP\nNONCE\nBODY\n`, where PATH_WITH_QUERY is the
 * request target exactly as it arrived on the wire (`req.originalUrl`, so it includes the
 * `/sandbox/pay` prefix of the sandbox base URL — what WeChat's SDKs sign: the full URL path of the
 * request) and BODY the exact body bytes. The JSAPI `paySign` of v3 orders is checked the same way.
 */
@Injectable()
export class SandboxV3AuthService {
  private readonly logger = new Logger('Sandbox');

  constructor(
    private readonly store: SandboxStore,
    private readonly keys: SandboxKeysService,
    private readonly replies: SandboxV3Replies,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** Null when the Authorization header verifies; otherwise the 401 WeChat answers. */
  authenticate(req: Request, rawBody: Buffer): SandboxReply | null {
    this.store.count('pay_requests_v3');
    const refuse = (message: string) => {
      this.store.count('pay_auth_failures');
      this.logger.debug(`v3 ${req.method} refused: ${message}`);
      return this.replies.error(401, 'SIGN_ERROR', message);
    };
    const header = req.headers.authorization;
    const parts = typeof header === 'string' ? parseV3Authorization(header) : null;
    if (!parts) return refuse('Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》');
    if (parts.mchid !== this.config.pay.mchId) return refuse('Http头Authorization中的mchid与商户号不匹配');
    if (parts.serialNo.toUpperCase() !== this.config.pay.certSerial.toUpperCase()) {
      return refuse('商户证书序列号有误。请使用签名私钥匹配的证书序列号');
    }
    if (!isFreshTimestamp(parts.timestamp, this.clock.nowSeconds(), V3_MAX_SKEW_SECONDS)) {
      return refuse('Http头Authorization中的timestamp与发起请求的时间不得超过5分钟');
    }
    const body = rawBody.toString('utf8');
    const message = v3RequestMessage(req.method, req.originalUrl, parts.timestamp, parts.nonceStr, body);
    if (!v3VerifyRsa(message, parts.signature, this.keys.keys.merchantPublicKey)) return refuse('错误的签名，验签失败');
    return null;
  }

  /** Whether a JSAPI RSA paySign verifies with the merchant's public key. */
  verifyRsaPaySign(message: string, paySign: string): boolean {
    return v3VerifyRsa(message, paySign, this.keys.keys.merchantPublicKey);
  }
}
