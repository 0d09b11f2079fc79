import { randomBytes } from 'node:crypto';

/** WeChat's own errcodes and messages (official-account API). */
export const WX_ERRORS = {
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40003: 'invalid openid',
  40013: 'invalid appid',
  40016: 'invalid button size',
  40017: 'invalid button type',
  40018: 'invalid button name size',
  40019: 'invalid button key size',
  40020: 'invalid button url size',
  40023: 'invalid sub button size',
  40024: 'invalid sub button type',
  40025: 'invalid sub button name size',
  40026: 'invalid sub button key size',
  40027: 'invalid sub button url size',
  40029: 'invalid code',
  40052: 'invalid action name',
  40053: 'invalid action info, please check document',
  40054: 'invalid sub button url domain',
  40055: 'invalid button url domain',
  40125: 'invalid appsecret',
  40163: 'code been used',
  41001: 'access_token missing',
  41002: 'appid missing',
  41004: 'appsecret missing',
  41008: 'missing code',
  42001: 'access_token expired',
  43002: 'require POST method',
  44002: 'empty post data',
  46003: 'menu no exist',
  47001: 'data format error',
} as const;

export type WxErrcode = keyof typeof WX_ERRORS;

export interface WxError {
  errcode: number;
  errmsg: string;
}

/** `{errcode, errmsg}` with WeChat's trailing request id (`… rid: 6561c0a2-…`). */
export function wxError(errcode: WxErrcode, hint?: string): WxError {
  const rid = `${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;
  return { errcode, errmsg: `${WX_ERRORS[errcode]}${hint ? `, hint: [${hint}]` : ''} rid: ${rid}` };
}

export function isWxError(x: unknown): x is WxError {
  return typeof x === 'object' && x !== null && typeof (x as WxError).errcode === 'number' && (x as WxError).errcode !== 0;
}

export const WX_OK = { errcode: 0, errmsg: 'ok' } as const;
