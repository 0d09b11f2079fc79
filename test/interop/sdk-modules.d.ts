/** The parts of two untyped SDKs (devDependencies of the interop suite) that the suite calls. */

declare module 'wechat-crypto' {
  /** WeChat's WXBizMsgCrypt for Node: AES-256-CBC message crypto and the SHA1 message signature. */
  class WXBizMsgCrypt {
    constructor(token: string, encodingAESKey: string, appId: string);
    getSignature(timestamp: string, nonce: string, encrypt: string): string;
    encrypt(text: string): string;
    decrypt(text: string): { message: string; id: string };
  }
  export = WXBizMsgCrypt;
}

declare module 'tenpay' {
  interface TenpayConfig {
    appid: string;
    mchid: string;
    partnerKey: string;
    notify_url?: string;
    spbill_create_ip?: string;
  }
  /** tenpay's WeChat Pay v2 client (`new tenpay(config)`). */
  class Tenpay {
    constructor(config: TenpayConfig, debug?: boolean);
    /** Endpoint URLs by API name, set by the constructor from the hard-coded api.mch.weixin.qq.com. */
    urls: Record<string, string>;
    unifiedOrder(params: Record<string, unknown>): Promise<Record<string, string>>;
    orderQuery(params: Record<string, unknown>): Promise<Record<string, string>>;
    closeOrder(params: Record<string, unknown>): Promise<Record<string, string>>;
    getPayParamsByPrepay(params: { prepay_id: string }, signType?: 'MD5' | 'HMAC-SHA256'): Record<string, string>;
    /** The v2 sign of `params` with the partner key (MD5 or HMAC-SHA256), as tenpay signs requests and checks answers. */
    _getSign(params: Record<string, unknown>, type?: 'MD5' | 'HMAC-SHA256'): string;
  }
  export = Tenpay;
}

declare module 'tenpay/lib/util' {
  /** tenpay's XML writer: `<?xml version="1.0"?>`, indented, CDATA where needed. */
  export function buildXML(obj: Record<string, unknown>, rootName?: string): string;
}
