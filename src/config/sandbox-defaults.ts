/**
 * Credentials the sandbox uses when the operator configured none (development and tests only;
 * production refuses WECHAT_SANDBOX). They are public by design: they unlock nothing real.
 */
export const SANDBOX_CREDENTIALS = {
  WECHAT_APPID: 'wx5andb0x00000001',
  WECHAT_SECRET: 'sandboxsecret000000000000000001',
  WECHAT_TOKEN: 'sandboxtoken',
  WECHAT_ENCODING_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  WECHAT_PAY_MCHID: '1900000109',
  WECHAT_PAY_API_KEY: 'sandboxpayv2key00000000000000001',
  WECHAT_PAY_API_V3_KEY: 'sandboxpayv3key00000000000000001',
  WECHAT_PAY_CERT_SERIAL: '5A0B0C0D0E0F1011121314151617181920212223',
  WECHAT_PAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_0000000000000000SANDBOX0001',
} as const;

/** Key files of the sandbox, created once (exclusive create) under `<dataDir>/sandbox/`. */
export const SANDBOX_KEY_FILES = {
  merchantPrivateKey: 'merchant_private_key.pem',
  merchantCertificate: 'merchant_certificate.pem',
  platformPrivateKey: 'wechatpay_private_key.pem',
  platformPublicKey: 'wechatpay_public_key.pem',
} as const;
