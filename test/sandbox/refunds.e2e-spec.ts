import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { DatabaseService } from '../../src/database/database.service';
import { shanghaiDate } from '../../src/common/time-format';
import { randomNonce } from '../../src/wechat/nonce';
import { PayApiError } from '../../src/wechat/pay/pay-errors';
import { PayClient, RefundInput } from '../../src/wechat/pay/pay.client';
import { parseTradeBill } from '../../src/wechat/pay/wire/trade-bill';
import { v2Sign } from '../../src/wechat/pay/crypto/v2-sign';
import { buildXml, parseWechatXml } from '../../src/wechat/xml';
import { startApp, TestApp, TestDatabase } from '../setup/test-app';
import { uniq } from '../support/unique';

type Json = Record<string, any>;

const uniq32 = (p: string) => uniq(p).slice(0, 32);

async function postJson(url: string, body: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

async function failure(p: Promise<unknown>): Promise<PayApiError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PayApiError);
    return err as PayApiError;
  }
  throw new Error('expected a PayApiError');
}

/**
 * The sandbox's WeChat Pay refunds and trade bills (docs/sandbox.md, docs/ops.md), driven through the same
 * PayClient the product uses: as strict as WeChat about what it accepts, and faithful in what it
 * sends back.
 */
describe.each(['v2', 'v3'] as const)('sandbox refunds and bills (WeChat Pay %s)', (version) => {
  let db: TestDatabase;
  let app: TestApp;
  const pay = () => app.app.get(PayClient);
  const sb = (path: string) => `${app.url}/sandbox${path}`;
  const codes =
    version === 'v2'
      ? { notExist: 'ORDERNOTEXIST', notPaid: 'TRADE_STATE_ERROR', total: 'PARAM_ERROR', exceeds: 'ERROR', reused: 'INVALID_REQUEST' }
      : {
          notExist: 'RESOURCE_NOT_EXISTS',
          notPaid: 'INVALID_REQUEST',
          total: 'PARAM_ERROR',
          exceeds: 'INVALID_REQUEST',
          reused: 'INVALID_REQUEST',
        };

  /** An order placed at the sandbox (not in the app's database) and paid without telling anyone. */
  async function paidOrder(amountFen = 990, paid = true): Promise<string> {
    const orderNo = uniq32('ORDSB');
    const { prepayId } = await pay().createJsapiOrder({
      orderNo,
      description: '图片编辑额度10张',
      amountFen,
      payerOpenid: 'oSandboxRefundUser000000001',
      payerIp: '127.0.0.1',
      notifyUrl: `${app.url}/api/v1/payment/notify`,
      expireAt: new Date(Date.now() + 600_000),
    });
    if (paid) expect((await postJson(sb('/actions/pay'), { prepay_id: prepayId, result: 'success', notify: 'never' })).status).toBe(200);
    return orderNo;
  }

  const refundInput = (orderNo: string, over: Partial<RefundInput> = {}): RefundInput => ({
    orderNo,
    refundNo: uniq32('RFSB'),
    totalFen: 990,
    refundFen: 990,
    notifyUrl: `${app.url}/api/v1/payment/refund-notify`,
    ...over,
  });

  beforeAll(async () => {
    db = await TestDatabase.create('sqlite');
    app = await startApp({ ...db.env, WECHAT_SANDBOX: 'true', WECHAT_PAY_VERSION: version });
    await app.app.get(DatabaseService).whenReady();
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  afterEach(async () => {
    await postJson(sb('/faults'), { refund: 'auto' });
  });

  it('refuses what WeChat refuses: unknown or unpaid orders, another total, more than is left, a reused out_refund_no', async () => {
    await postJson(sb('/faults'), { refund: 'manual' });
    expect((await failure(pay().refund(refundInput('ORDSBNOSUCHORDER')))).code).toBe(codes.notExist);
    expect((await failure(pay().refund(refundInput(await paidOrder(990, false))))).code).toBe(codes.notPaid);
    const orderNo = await paidOrder();
    expect((await failure(pay().refund(refundInput(orderNo, { totalFen: 991, refundFen: 10 })))).code).toBe(codes.total);
    const first = refundInput(orderNo, { refundFen: 600 });
    const accepted = await pay().refund(first);
    expect(accepted).toMatchObject({ state: 'PROCESSING', refundFen: 600 });
    // The same number again is the same refund; with another amount it is refused.
    expect((await pay().refund(first)).wxRefundId).toBe(accepted.wxRefundId);
    expect((await failure(pay().refund({ ...first, refundFen: 500 }))).code).toBe(codes.reused);
    // 600 are held by the processing refund: 400 is more than is left.
    expect((await failure(pay().refund(refundInput(orderNo, { refundFen: 400 })))).code).toBe(codes.exceeds);
    await expect(pay().refund(refundInput(orderNo, { refundFen: 390 }))).resolves.toMatchObject({ state: 'PROCESSING' });
  });

  it('manual mode: a refund waits for the action; results are final; queries follow', async () => {
    await postJson(sb('/faults'), { refund: 'manual' });
    const orderNo = await paidOrder();
    const input = refundInput(orderNo);
    await pay().refund(input);
    expect(await pay().queryRefund(input.refundNo)).toMatchObject({ state: 'PROCESSING' });
    expect((await postJson(sb('/actions/refund'), { out_refund_no: input.refundNo })).status).toBe(409);
    expect(
      (await postJson(sb('/actions/refund'), { out_refund_no: input.refundNo, result: 'success', notify: 'never' })).body,
    ).toMatchObject({ ok: true, state: 'SUCCESS' });
    expect((await postJson(sb('/actions/refund'), { out_refund_no: input.refundNo, result: 'closed' })).status).toBe(409);
    expect(await pay().queryRefund(input.refundNo)).toMatchObject({
      state: 'SUCCESS',
      refundFen: 990,
      totalFen: 990,
      successAt: expect.any(Date),
    });
    expect(await pay().queryRefund('RFSBNOSUCHREFUND')).toMatchObject({ state: 'NOT_FOUND' });
    expect(await pay().queryOrder(orderNo)).toMatchObject({ state: 'REFUND' });
    expect((await postJson(sb('/actions/refund'), { out_refund_no: 'RFSBNOSUCHREFUND', result: 'success' })).status).toBe(404);
  });

  it("auto mode: the refund succeeds on its own and is notified to the request's notify_url", async () => {
    // The notify_url is a receiver of the test's own that acknowledges as WeChat requires. The app's
    // would refuse a refund asked for behind its back, and WeChat's retries of that refusal would
    // print its error lines after the test.
    const received: { method?: string; body: string }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ method: req.method, body });
        if (version === 'v2') res.end('<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>');
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const notifyUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/refund-notify`;
    const orderNo = await paidOrder();
    const input = refundInput(orderNo, { notifyUrl });
    await pay().refund(input);
    for (let i = 0; i < 50 && (await pay().queryRefund(input.refundNo)).state === 'PROCESSING'; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(await pay().queryRefund(input.refundNo)).toMatchObject({ state: 'SUCCESS' });
    let deliveries: Json[] = [];
    for (let i = 0; i < 50 && !deliveries.length; i++) {
      deliveries = ((await (await fetch(sb('/deliveries'))).json()) as Json).deliveries.filter((d: Json) =>
        String(d.summary).startsWith(input.refundNo),
      );
      if (!deliveries.length) await new Promise((r) => setTimeout(r, 50));
    }
    expect(deliveries[0]).toMatchObject({ kind: `refund_${version}`, target: notifyUrl });
    await new Promise<void>((r) => receiver.close(() => r()));
    expect(received).toEqual([{ method: 'POST', body: expect.stringContaining(version === 'v2' ? '<req_info>' : '"REFUND.SUCCESS"') }]);
  });

  it("today's bill lists the payment and the refund; downloads are as WeChat serves them", async () => {
    const orderNo = await paidOrder(1800);
    const input = refundInput(orderNo, { totalFen: 1800, refundFen: 800 });
    await postJson(sb('/faults'), { refund: 'manual' });
    await pay().refund(input);
    await postJson(sb('/actions/refund'), { out_refund_no: input.refundNo, result: 'success', notify: 'never' });
    const rows = await pay().downloadTradeBill(shanghaiDate(new Date()));
    expect(rows.filter((r) => r.orderNo === orderNo).map((r) => [r.tradeState, r.totalFen, r.refundNo, r.refundFen])).toEqual([
      ['SUCCESS', 1800, '', 0],
      ['REFUND', 1800, input.refundNo, 800],
    ]);
    await expect(pay().downloadTradeBill('2020-01-01')).resolves.toEqual([]);

    const { config } = app;
    if (version === 'v2') {
      // Signed request, raw (gzip) answer; a bad sign or a future date is refused in WeChat's words.
      const fields: Record<string, string> = {
        appid: config.wechat.appId,
        mch_id: config.pay.mchId,
        nonce_str: randomNonce(32),
        bill_date: shanghaiDate(new Date()).replace(/-/g, ''),
        bill_type: 'REFUND',
        tar_type: 'GZIP',
      };
      const send = async (f: Record<string, string>) =>
        fetch(`${config.pay.base}/pay/downloadbill`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: buildXml(f) });
      const gz = await send({ ...fields, sign: v2Sign(fields, config.pay.apiKey) });
      const refundsOnly = parseTradeBill(gunzipSync(Buffer.from(await gz.arrayBuffer())).toString('utf8'));
      expect(refundsOnly.every((r) => r.tradeState === 'REFUND')).toBe(true);
      expect(refundsOnly.map((r) => r.refundNo)).toContain(input.refundNo);
      expect(await parseWechatXml(await (await send({ ...fields, sign: 'BAD' })).text())).toMatchObject({
        return_code: 'FAIL',
        return_msg: '签名错误',
      });
      const future = { ...fields, bill_date: '29990101' };
      expect(await parseWechatXml(await (await send({ ...future, sign: v2Sign(future, config.pay.apiKey) })).text())).toMatchObject({
        return_code: 'FAIL',
        return_msg: 'invalid bill_date',
      });
      const refund = {
        appid: config.wechat.appId,
        mch_id: config.pay.mchId,
        nonce_str: randomNonce(32),
        out_trade_no: orderNo,
        out_refund_no: uniq32('RF'),
        total_fee: '1800',
        refund_fee: '1',
      };
      const forged = await fetch(`${config.pay.base}/secapi/pay/refund`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: buildXml({ ...refund, sign: v2Sign(refund, 'x'.repeat(32)) }),
      });
      expect(await parseWechatXml(await forged.text())).toMatchObject({ return_code: 'FAIL', return_msg: '签名错误' });
    } else {
      // The signed answer, then the file behind download_url (counted); a future date is refused.
      const stats = (await (await fetch(sb('/stats'))).json()) as Json;
      expect(stats.bills_downloaded).toBeGreaterThan(0);
      expect((await failure(pay().downloadTradeBill('2999-01-01'))).code).toBe('INVALID_REQUEST');
    }
  });
});
