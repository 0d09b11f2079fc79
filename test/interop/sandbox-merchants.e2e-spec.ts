import { X509Certificate } from 'node:crypto';
import { Aes, Formatter, Rsa } from 'wechatpay-axios-plugin';
import { SandboxHostsServer } from '../../src/sandbox/core/sandbox-hosts.server';
import type { Json } from '../support/api-client';
import { freePort, startAppOnFreshDb, TestApp } from '../setup/test-app';
import { axiosPluginMerchant, nodeV3Merchant, nodeV3Verify, SandboxKeyFiles, sandboxKeyFiles, tenpayMerchant } from './support/sdk-peers';

/**
 * Published SDKs as merchants against the sandbox (issue 16): each configured only through its
 * documented options (a base URL, a custom HTTP service; tenpay's endpoint table), with its own
 * answer verification on. The hosts listener (SANDBOX_HOSTS_PORT) serves the APIs at `/` as
 * api.mch.weixin.qq.com does, so an SDK that signs the path after the host (wechatpay-node-v3) works.
 */

const OPENID = 'oInteropMerchant000000000001';
const outTradeNo = (p: string) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`.slice(0, 32);

/** The error an axios-based SDK call ended with: status and WeChat's JSON answer. */
async function refusal(call: Promise<unknown>): Promise<{ status: number; data: Record<string, unknown> }> {
  try {
    await call;
  } catch (err) {
    const res = (err as { response?: { status: number; data: unknown } }).response;
    if (!res) throw err;
    return { status: res.status, data: typeof res.data === 'string' ? JSON.parse(res.data) : (res.data as Record<string, unknown>) };
  }
  throw new Error('expected the call to be refused');
}

describe('published SDKs as merchants on the sandbox', () => {
  let app: TestApp;
  let hosts: string;
  let keys: SandboxKeyFiles;

  const faults = (knobs: Record<string, unknown>) =>
    fetch(`${app.url}/sandbox/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(knobs) });

  beforeAll(async () => {
    app = await startAppOnFreshDb('sqlite', { WECHAT_SANDBOX: 'true', SANDBOX_HOSTS_PORT: String(await freePort()) });
    hosts = app.app.get(SandboxHostsServer).url!;
    keys = sandboxKeyFiles(app.config);
  });

  afterAll(async () => {
    await app?.close();
  });

  describe('the hosts listener', () => {
    it('serves WeChat Pay and the official account APIs at / on its own port, and nothing else', async () => {
      expect(hosts).toBe(`http://127.0.0.1:${app.config.wechat.sandboxHostsPort}`);
      const { appId, secret } = app.config.wechat;
      const token = (await (
        await fetch(`${hosts}/cgi-bin/token?grant_type=client_credential&appid=${appId}&secret=${secret}`)
      ).json()) as Json;
      expect(token).toMatchObject({ access_token: expect.any(String), expires_in: 7200 });
      const redirect = encodeURIComponent('https://www.example.com/wechat/member.html');
      const auth = await fetch(
        `${hosts}/connect/oauth2/authorize?appid=${appId}&redirect_uri=${redirect}&response_type=code&scope=snsapi_base&state=s&sandbox_openid=${OPENID}`,
        {
          redirect: 'manual',
        },
      );
      const code = new URL(auth.headers.get('location')!).searchParams.get('code');
      const exchange = await (
        await fetch(`${hosts}/sns/oauth2/access_token?appid=${appId}&secret=${secret}&code=${code}&grant_type=authorization_code`)
      ).json();
      expect(exchange).toMatchObject({ openid: OPENID });
      const qr = (await (
        await fetch(`${hosts}/cgi-bin/qrcode/create?access_token=${token.access_token}`, {
          method: 'POST',
          body: JSON.stringify({ expire_seconds: 600, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'interop' } } }),
        })
      ).json()) as Json;
      expect((await fetch(`${hosts}/cgi-bin/showqrcode?ticket=${encodeURIComponent(qr.ticket)}`)).status).toBe(200);
      expect((await fetch(`${hosts}/sandbox/stats`)).status).toBe(200);
      for (const path of ['/api/v1/health', '/', '/wechat/member.html', '/docs'])
        expect([path, (await fetch(hosts + path)).status]).toEqual([path, 404]);
    });
  });

  describe('tenpay 2.1.18 (APIv2)', () => {
    it.each(['MD5', 'HMAC-SHA256'] as const)(
      'unifiedOrder → orderQuery → closeOrder, %s, every answer sign checked by tenpay',
      async (signType) => {
        const pay = tenpayMerchant(app.config, hosts);
        const no = outTradeNo('TP');
        const placed = await pay.unifiedOrder({
          out_trade_no: no,
          body: '图片编辑额度 10张',
          total_fee: 990,
          openid: OPENID,
          sign_type: signType,
        });
        expect(placed).toMatchObject({
          return_code: 'SUCCESS',
          result_code: 'SUCCESS',
          trade_type: 'JSAPI',
          prepay_id: expect.any(String),
        });
        expect(await pay.orderQuery({ out_trade_no: no, sign_type: signType })).toMatchObject({
          trade_state: 'NOTPAY',
          out_trade_no: no,
          total_fee: '990',
        });
        expect(await pay.closeOrder({ out_trade_no: no, sign_type: signType })).toMatchObject({ result_code: 'SUCCESS' });
        expect(await pay.orderQuery({ out_trade_no: no, sign_type: signType })).toMatchObject({ trade_state: 'CLOSED' });
      },
    );

    it('refuses an answer whose sign does not verify (the sandbox bad_signature fault)', async () => {
      const pay = tenpayMerchant(app.config, hosts);
      await faults({ pay: 'bad_signature' });
      try {
        await expect(pay.unifiedOrder({ out_trade_no: outTradeNo('TPB'), body: 'x', total_fee: 1, openid: OPENID })).rejects.toThrow(
          'sign签名错误',
        );
      } finally {
        await faults({ pay: null });
      }
    });
  });

  describe('wechatpay-axios-plugin 0.9.6', () => {
    it.each(['MD5', 'HMAC-SHA256'] as const)(
      'APIv2 unifiedorder → orderquery → closeorder, %s, answers verified by the plugin',
      async (signType) => {
        const wxpay = axiosPluginMerchant(app.config, keys, hosts);
        const base = { appid: app.config.wechat.appId, mch_id: app.config.pay.mchId, sign_type: signType };
        const no = outTradeNo('AP2');
        const placed = await wxpay.v2.pay.unifiedorder.post({
          ...base,
          out_trade_no: no,
          body: '会员服务',
          total_fee: 2990,
          spbill_create_ip: '127.0.0.1',
          notify_url: 'https://www.example.com/api/v1/payment/notify',
          trade_type: 'JSAPI',
          openid: OPENID,
        });
        expect(placed.data).toMatchObject({ result_code: 'SUCCESS', prepay_id: expect.any(String) });
        expect((await wxpay.v2.pay.orderquery.post({ ...base, out_trade_no: no })).data).toMatchObject({ trade_state: 'NOTPAY' });
        expect((await wxpay.v2.pay.closeorder.post({ ...base, out_trade_no: no })).data).toMatchObject({ result_code: 'SUCCESS' });
      },
    );

    it.each([
      ['the hosts listener', () => hosts],
      ['the /sandbox/pay mount', () => `${app.url}/sandbox/pay`],
    ])('APIv3 jsapi → query → close → certificates on %s, every answer signature verified', async (_where, base) => {
      const wxpay = axiosPluginMerchant(app.config, keys, base());
      const { appId } = app.config.wechat;
      const mchid = app.config.pay.mchId;
      const no = outTradeNo('AP3');
      const placed = await wxpay.v3.pay.transactions.jsapi.post({
        appid: appId,
        mchid,
        description: '图片编辑额度 10张',
        out_trade_no: no,
        time_expire: new Date(Date.now() + 3600_000), // JSON: "…Z", RFC 3339 with the zero offset
        notify_url: 'https://www.example.com/api/v1/payment/notify',
        amount: { total: 990, currency: 'CNY' },
        payer: { openid: OPENID },
      });
      expect(placed.status).toBe(200);
      expect((placed.data as Json).prepay_id).toEqual(expect.any(String));
      const query = await wxpay.v3.pay.transactions.outTradeNo._out_trade_no_.get({ params: { mchid }, out_trade_no: no });
      expect(query.data).toMatchObject({ out_trade_no: no, trade_state: 'NOTPAY', amount: { total: 990 } });
      const closed = await wxpay.v3.pay.transactions.outTradeNo._out_trade_no_.close.post({ mchid }, { out_trade_no: no });
      expect(closed.status).toBe(204);
      const certs = await wxpay.v3.certificates.get();
      const [cert] = certs.data.data;
      const { ciphertext, nonce, associated_data } = cert.encrypt_certificate;
      expect(Aes.AesGcm.decrypt(ciphertext, app.config.pay.apiV3Key, nonce, associated_data)).toBe(keys.platformCertificate);
    });

    it('a forged APIv3 answer is refused by the plugin', async () => {
      const wxpay = axiosPluginMerchant(app.config, keys, hosts);
      await faults({ pay: 'bad_signature' });
      try {
        const err = await wxpay.v3.certificates.get().catch((e: { code?: string }) => e);
        expect((err as { code?: string }).code).toBe('EV3_RES_HEADER_SIGNATURE_DIGEST');
      } finally {
        await faults({ pay: null });
      }
    });

    describe('WeChat Pay strictness on a JSAPI order (its own codes and messages)', () => {
      const order = (over: Record<string, unknown>) => ({
        appid: app.config.wechat.appId,
        mchid: app.config.pay.mchId,
        description: '图片编辑额度 10张',
        out_trade_no: outTradeNo('ST'),
        notify_url: 'https://www.example.com/api/v1/payment/notify',
        amount: { total: 990, currency: 'CNY' },
        payer: { openid: OPENID },
        ...over,
      });
      const place = (over: Record<string, unknown>) =>
        axiosPluginMerchant(app.config, keys, hosts).v3.pay.transactions.jsapi.post(order(over));
      const rule = (field: string, label: string, value: unknown, text: string) => ({
        status: 400,
        data: {
          code: 'PARAM_ERROR',
          detail: { location: 'body', value },
          message: `输入源“/body/${field}”映射到值字段“${label}”字符串规则校验失败，${text}`,
        },
      });
      const RFC3339 = '字符串必须是符合 RFC3339 日期时间格式';
      const NOTIFY = String.raw`字符串必须匹配正则表达式“^https?://([^\s/?#\[\]\@]+\@)?([^\s/?#\@:]+)(?::\d{2,5})?([^\s?#\[\]]*)$”`;

      it.each([
        [
          'time_expire without an offset',
          { time_expire: '2030-01-01T10:00:00' },
          rule('time_expire', '交易结束时间', '2030-01-01T10:00:00', RFC3339),
        ],
        ['time_expire in v2 form', { time_expire: '20300101100000' }, rule('time_expire', '交易结束时间', '20300101100000', RFC3339)],
        [
          'time_expire on Feb 30',
          { time_expire: '2030-02-30T10:00:00+08:00' },
          rule('time_expire', '交易结束时间', '2030-02-30T10:00:00+08:00', RFC3339),
        ],
        [
          'notify_url with a query',
          { notify_url: 'https://www.example.com/notify?order=1' },
          rule('notify_url', '通知地址', 'https://www.example.com/notify?order=1', NOTIFY),
        ],
        [
          'notify_url with a fragment',
          { notify_url: 'https://www.example.com/notify#x' },
          rule('notify_url', '通知地址', 'https://www.example.com/notify#x', NOTIFY),
        ],
        [
          'notify_url over plain http to the internet',
          { notify_url: 'http://www.example.com/notify' },
          rule('notify_url', '通知地址', 'http://www.example.com/notify', NOTIFY),
        ],
        ['out_trade_no of 5 characters', { out_trade_no: 'A1234' }, rule('out_trade_no', '商户订单号', 'A1234', '字节数 5，小于最小值 6')],
        [
          'out_trade_no of 33 characters',
          { out_trade_no: 'A'.repeat(33) },
          rule('out_trade_no', '商户订单号', 'A'.repeat(33), '字节数 33，大于最大值 32'),
        ],
        [
          'out_trade_no with "#"',
          { out_trade_no: 'ORD#12345' },
          rule('out_trade_no', '商户订单号', 'ORD#12345', String.raw`字符串必须匹配正则表达式“^[0-9a-zA-Z_\-|\*]{1,}$”`),
        ],
        [
          'description of 128 bytes',
          { description: `${'额'.repeat(42)}xx` },
          rule('description', '商品描述', `${'额'.repeat(42)}xx`, '字节数 128，大于最大值 127'),
        ],
      ])('refuses %s', async (_name, over, expected) => {
        expect(await refusal(place(over))).toEqual(expected);
      });

      it.each([
        ['time_expire with +08:00', { time_expire: new Date(Date.now() + 8 * 3600_000 + 3600_000).toISOString().slice(0, 19) + '+08:00' }],
        ['time_expire with a fraction and Z', { time_expire: new Date(Date.now() + 3600_000).toISOString() }],
        ['description of exactly 127 bytes', { description: `${'额'.repeat(42)}x` }],
        ['out_trade_no of 6 allowed characters', { out_trade_no: 'a-_|*6' }],
        ['out_trade_no of 32 characters', { out_trade_no: outTradeNo('Z').padEnd(32, 'z') }],
        ['notify_url over plain http to a loopback host', { notify_url: 'http://127.0.0.1:9/api/v1/payment/notify' }],
      ])('accepts %s', async (_name, over) => {
        expect((await place(over)).status).toBe(200);
      });
    });
  });

  describe('wechatpay-node-v3 2.2.1 (platform-certificate mode)', () => {
    beforeAll(async () => {
      // wechatpay-node-v3 looks answers' serials up among the platform certificates only.
      await faults({ v3_serial: 'certificate' });
    });

    afterAll(async () => {
      await faults({ v3_serial: 'public_key' });
    });

    it('get_certificates, transactions_jsapi → query → close: 2xx, and every answer passes verifySign', async () => {
      const { pay, http } = nodeV3Merchant(app.config, keys, hosts);
      const [cert] = await pay.get_certificates(app.config.pay.apiV3Key);
      expect(cert.serial_no.toUpperCase()).toBe(new X509Certificate(keys.platformCertificate).serialNumber.toUpperCase());
      expect(await nodeV3Verify(pay, app.config, http.last)).toBe(true);

      const no = outTradeNo('NV3');
      const placed = await pay.transactions_jsapi({
        description: '图片编辑额度 10张',
        out_trade_no: no,
        notify_url: 'https://www.example.com/api/v1/payment/notify',
        amount: { total: 990 },
        payer: { openid: OPENID },
      });
      expect(placed.status).toBe(200);
      expect(await nodeV3Verify(pay, app.config, http.last)).toBe(true);
      // Its JSAPI paySign (RSA over appId, timeStamp, nonceStr, package) checks with the merchant key.
      const p = placed.data as Record<string, string>;
      expect(Rsa.verify(Formatter.joinedByLineFeed(p.appId, p.timeStamp, p.nonceStr, p.package), p.paySign, keys.merchantCertificate)).toBe(
        true,
      );

      const query = await pay.query({ out_trade_no: no });
      expect([query.status, query.data.trade_state]).toEqual([200, 'NOTPAY']);
      expect(await nodeV3Verify(pay, app.config, http.last)).toBe(true);

      const closed = await pay.close(no);
      expect(closed.status).toBe(204);
      expect(await nodeV3Verify(pay, app.config, http.last)).toBe(true);
    });

    it('on the /sandbox/pay mount it signs a path the server does not see: 401 SIGN_ERROR (why the hosts listener exists)', async () => {
      const { pay, http } = nodeV3Merchant(app.config, keys, `${app.url}/sandbox/pay`);
      const answer = await pay.query({ out_trade_no: 'NV3MOUNT000001' });
      expect(answer.status).toBe(401);
      expect(JSON.parse(http.last.text)).toMatchObject({ code: 'SIGN_ERROR' });
    });
  });
});
