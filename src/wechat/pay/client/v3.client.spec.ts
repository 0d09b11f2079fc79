import { createVerify, KeyObject } from 'node:crypto';
import type { HttpService } from '@nestjs/axios';
import { of } from 'rxjs';
import {
  APPID,
  createV3World,
  lowerCaseNames,
  MCHID,
  MERCHANT_SERIAL,
  NOW,
  PUB_KEY_ID,
  REFUND,
  signHeaders,
  TestClock,
  V3World,
} from '../../../../test/support/wechat-pay-v3-unit';
import { PlatformCertificates, V3Transport } from '../notify/platform-certificates';
import { PayV3Client } from './v3.client';

let world: V3World;
let wechatPay: { privateKey: KeyObject };
let merchant: { publicKey: KeyObject };

beforeAll(async () => {
  world = await createV3World();
  ({ wechatPay, merchant } = world);
});

afterAll(() => world.cleanup());

describe('v3 JSAPI payment parameters', () => {
  it('signs the prepay answer check, then paySign with RSA over appId, timeStamp, nonceStr, package', async () => {
    const clock = new TestClock();
    const requests: Array<{ url: string; data: string; headers: Record<string, string> }> = [];
    const http = {
      axiosRef: { defaults: {} },
      request: (cfg: { url: string; data: string; headers: Record<string, string> }) => {
        requests.push(cfg);
        const body = Buffer.from('{"prepay_id":"wx201410272009395522657a690389285100"}');
        const headers = lowerCaseNames(signHeaders(body, wechatPay.privateKey, PUB_KEY_ID));
        return of({ status: 200, headers, data: body });
      },
    } as unknown as HttpService;
    // Certificates are never downloaded here: the answer is signed with the public key.
    const noDownload: V3Transport = { send: () => Promise.reject(new Error('offline')) };
    const client = new PayV3Client(http, world.config, clock, new PlatformCertificates(noDownload, world.config, clock));

    const order = await client.createJsapiOrder({
      orderNo: 'ORD1',
      description: '会员开通',
      amountFen: 2990,
      payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      payerIp: '203.0.113.9',
      notifyUrl: 'https://www.example.com/api/v1/payment/notify',
      expireAt: new Date((NOW + 1800) * 1000),
    });

    expect(order.prepayId).toBe('wx201410272009395522657a690389285100');
    const p = order.paymentParams;
    expect(p).toMatchObject({
      appId: APPID,
      timeStamp: String(NOW),
      package: 'prepay_id=wx201410272009395522657a690389285100',
      signType: 'RSA',
    });
    expect(p.nonceStr).toMatch(/^[A-Za-z0-9]{32}$/);
    for (const value of Object.values(p)) expect(typeof value).toBe('string');
    const message = `${APPID}\n${NOW}\n${p.nonceStr}\nprepay_id=wx201410272009395522657a690389285100\n`;
    expect(createVerify('RSA-SHA256').update(message).verify(merchant.publicKey, p.paySign, 'base64')).toBe(true);

    // The request itself: body fields and a verifiable Authorization over the wire path.
    const sent = JSON.parse(requests[0].data);
    expect(sent).toEqual({
      appid: APPID,
      mchid: MCHID,
      description: '会员开通',
      out_trade_no: 'ORD1',
      time_expire: '2024-04-25T17:45:04+08:00',
      notify_url: 'https://www.example.com/api/v1/payment/notify',
      amount: { total: 2990, currency: 'CNY' },
      payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
      scene_info: { payer_client_ip: '203.0.113.9' },
    });
    const auth = /^WECHATPAY2-SHA256-RSA2048 mchid="(\d+)",nonce_str="(\w+)",signature="([^"]+)",timestamp="(\d+)",serial_no="(\w+)"$/.exec(
      requests[0].headers.Authorization,
    );
    expect(auth).not.toBeNull();
    const [, mchid, nonce, signature, timestamp, serial] = auth as RegExpExecArray;
    expect([mchid, timestamp, serial]).toEqual([MCHID, String(NOW), MERCHANT_SERIAL]);
    const signed = `POST\n/v3/pay/transactions/jsapi\n${timestamp}\n${nonce}\n${requests[0].data}\n`;
    expect(createVerify('RSA-SHA256').update(signed).verify(merchant.publicKey, signature, 'base64')).toBe(true);
  });
});

/** A PayV3Client whose HTTP answers come from `route` (signed with the WeChat Pay public key unless unsigned). */
function routedClient(route: (method: string, url: string, body: string) => { status: number; body: Buffer; unsigned?: boolean }) {
  const clock = new TestClock();
  const requests: Array<{ method: string; url: string; data: string; headers: Record<string, string> }> = [];
  const http = {
    axiosRef: { defaults: {} },
    request: (cfg: { method: string; url: string; data: string; headers: Record<string, string> }) => {
      requests.push(cfg);
      const answer = route(cfg.method, cfg.url, cfg.data ?? '');
      const headers = answer.unsigned ? {} : lowerCaseNames(signHeaders(answer.body, wechatPay.privateKey, PUB_KEY_ID));
      return of({ status: answer.status, headers, data: answer.body });
    },
  } as unknown as HttpService;
  const noDownload: V3Transport = { send: () => Promise.reject(new Error('offline')) };
  return { client: new PayV3Client(http, world.config, clock, new PlatformCertificates(noDownload, world.config, clock)), requests };
}

const json = (status: number, value: unknown) => ({ status, body: Buffer.from(JSON.stringify(value)) });

describe('v3 refunds and trade bills (client side)', () => {
  const refundAnswer = {
    ...REFUND,
    status: 'PROCESSING',
    success_time: undefined,
    create_time: '2024-04-25T18:00:00+08:00',
    amount: { total: 990, refund: 500, currency: 'CNY' },
  };

  it('refund posts the documented body (reason cut to 80 characters) and reads PROCESSING', async () => {
    const { client, requests } = routedClient(() => json(200, refundAnswer));
    const r = await client.refund({
      orderNo: 'ORD20240425171500XYZ789',
      refundNo: 'RF20240425180000ABCDEFGH',
      totalFen: 990,
      refundFen: 500,
      notifyUrl: 'https://www.example.com/api/v1/payment/notify',
      reason: `重复购买\n${'退'.repeat(100)}`,
    });
    expect(r).toMatchObject({
      state: 'PROCESSING',
      refundNo: 'RF20240425180000ABCDEFGH',
      wxRefundId: '50000000382019052709732678859',
      refundFen: 500,
      totalFen: 990,
    });
    expect(requests[0].url).toBe('http://127.0.0.1:9/v3/refund/domestic/refunds');
    const sent = JSON.parse(requests[0].data);
    expect(sent).toMatchObject({
      out_trade_no: 'ORD20240425171500XYZ789',
      out_refund_no: 'RF20240425180000ABCDEFGH',
      notify_url: 'https://www.example.com/api/v1/payment/notify',
      amount: { refund: 500, total: 990, currency: 'CNY' },
    });
    expect([...sent.reason]).toHaveLength(80);
    expect(sent.reason.startsWith('重复购买 ')).toBe(true);
  });

  it("WeChat's refusals keep their code; a query of an unknown refund is NOT_FOUND only when WeChat signed it", async () => {
    const refused = routedClient(() => json(400, { code: 'INVALID_REQUEST', message: '申请退款金额超过订单可退金额' }));
    await expect(
      refused.client.refund({ orderNo: 'O', refundNo: 'R', totalFen: 990, refundFen: 500, notifyUrl: 'https://x/n' }),
    ).rejects.toMatchObject({
      name: 'PayApiError',
      code: 'INVALID_REQUEST',
    });
    const missing = routedClient(() => json(404, { code: 'RESOURCE_NOT_EXISTS', message: '退款单不存在' }));
    await expect(missing.client.queryRefund('RFNONE')).resolves.toMatchObject({ state: 'NOT_FOUND', refundNo: 'RFNONE' });
    expect(missing.requests[0].url).toBe('http://127.0.0.1:9/v3/refund/domestic/refunds/RFNONE');
    const bare = routedClient(() => ({ ...json(404, { code: 'RESOURCE_NOT_EXISTS' }), unsigned: true }));
    await expect(bare.client.queryRefund('RFNONE')).rejects.toMatchObject({ name: 'PayApiError' });
    const done = routedClient(() => json(200, { ...refundAnswer, status: 'SUCCESS', success_time: '2024-04-25T18:00:09+08:00' }));
    await expect(done.client.queryRefund('RF20240425180000ABCDEFGH')).resolves.toMatchObject({
      state: 'SUCCESS',
      successAt: new Date('2024-04-25T10:00:09Z'),
    });
  });

  const BILL =
    '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n' +
    '`2024-04-25 17:14:58,`wxd678efh567hg6787,`1230000109,`0,`,`4200002216202404258765432109,`ORD20240425171500XYZ789,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`SUCCESS,`OTHERS,`CNY,`9.90,`0.00,`0,`0,`0.00,`0.00,`,`,`额度,`,`0.06000,`0.60%,`9.90,`0.00,`\r\n' +
    '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`1,`9.90,`0.00,`0.00,`0.06000,`9.90,`0.00\r\n';

  it('trade bill: the signed answer, then the unsigned gzip file from download_url with a verified SHA1', async () => {
    const { gzipSync } = await import('node:zlib');
    const { createHash } = await import('node:crypto');
    const { client, requests } = routedClient((_m, url) =>
      url.includes('/v3/bill/tradebill')
        ? json(200, {
            hash_type: 'SHA1',
            hash_value: createHash('sha1').update(BILL).digest('hex'),
            download_url: 'http://127.0.0.1:9/v3/billdownload/file?token=abc',
          })
        : { status: 200, body: gzipSync(Buffer.from(BILL)), unsigned: true },
    );
    const rows = await client.downloadTradeBill('2024-04-25');
    expect(rows).toEqual([expect.objectContaining({ orderNo: 'ORD20240425171500XYZ789', tradeState: 'SUCCESS', totalFen: 990 })]);
    expect(requests.map((r) => r.url)).toEqual([
      'http://127.0.0.1:9/v3/bill/tradebill?bill_date=2024-04-25&bill_type=ALL&tar_type=GZIP',
      'http://127.0.0.1:9/v3/billdownload/file?token=abc',
    ]);
    // The download is signed over its own path and query.
    const auth = /signature="([^"]+)",timestamp="(\d+)"/.exec(requests[1].headers.Authorization);
    const nonce = /nonce_str="(\w+)"/.exec(requests[1].headers.Authorization)![1];
    const signed = `GET\n/v3/billdownload/file?token=abc\n${auth![2]}\n${nonce}\n\n`;
    expect(createVerify('RSA-SHA256').update(signed).verify(merchant.publicKey, auth![1], 'base64')).toBe(true);
  });

  it('trade bill: a file that does not match hash_value, or a download_url on another host, is refused; NO_STATEMENT_EXIST is an empty bill', async () => {
    const wrongHash = routedClient((_m, url) =>
      url.includes('/v3/bill/tradebill')
        ? json(200, { hash_type: 'SHA1', hash_value: 'f'.repeat(40), download_url: 'http://127.0.0.1:9/v3/billdownload/file?token=abc' })
        : { status: 200, body: Buffer.from(BILL), unsigned: true },
    );
    await expect(wrongHash.client.downloadTradeBill('2024-04-25')).rejects.toMatchObject({ name: 'PayUnavailableError' });
    const elsewhere = routedClient(() =>
      json(200, { hash_type: 'SHA1', hash_value: 'f'.repeat(40), download_url: 'https://evil.example.com/file?token=abc' }),
    );
    await expect(elsewhere.client.downloadTradeBill('2024-04-25')).rejects.toMatchObject({ name: 'PayResponseSignatureError' });
    expect(elsewhere.requests).toHaveLength(1);
    const none = routedClient(() => json(400, { code: 'NO_STATEMENT_EXIST', message: '账单文件不存在' }));
    await expect(none.client.downloadTradeBill('2024-04-25')).resolves.toEqual([]);
    await expect(none.client.downloadTradeBill('2024-02-30')).rejects.toThrow(TypeError);
  });
});
