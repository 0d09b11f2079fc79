import { billYuanToFen, formatTradeBill, parseBillTime, parseTradeBill, TradeBillFormatError } from './trade-bill';

/** WeChat's documented example (the older 24-column ALL bill), CRLF, as downloaded. */
const DOC_EXAMPLE_24 = [
  '交易时间,公众账号ID,商户号,子商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,总金额,代金券或立减优惠金额,微信退款单号,商户退款单号,退款金额,代金券或立减优惠退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率',
  '`2014-11-10 16:33:45,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1001690740201411100005734289,`1415640626,`085e9858e3ba5186aafcbaed1,`MICROPAY,`SUCCESS,`CFT,`CNY,`0.01,`0.0,`0,`0,`0,`0,`,`,`被扫支付测试,`订单额外描述,`0,`0.60%',
  '`2014-11-10 16:46:14,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1002780740201411100005729794,`1415635270,`085e9858e90ca40c0b5aee463,`MICROPAY,`REFUND,`CFT,`CNY,`0.01,`0.0,`2002780740201411100002127813,`1415635270,`0.01,`0.0,`ORIGINAL,`SUCCESS,`被扫支付测试,`订单额外描述,`0,`0.60%',
  '总交易单数,总交易额,总退款金额,总代金券或立减优惠退款金额,手续费总金额',
  '`2,`0.02,`0.0,`0.0,`0',
  '',
].join('\r\n');

/** The current 27-column layout (订单金额, 申请退款金额, 费率备注), LF, with a BOM. */
const CURRENT_27 =
  '\uFEFF交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n' +
  '`2024-04-25 10:05:09,`wxd930ea5d5a258f4f,`1900000109,`0,`,`4200002216202404251234567890,`ORD20240425100000ABC123,`oUpF8uMEb4qRXf22hE3X68TekukE,`JSAPI,`SUCCESS,`OTHERS,`CNY,`29.90,`0.00,`0,`0,`0.00,`0.00,`,`,`终身会员, 含赠送额度,`,`0.18000,`0.60%,`29.90,`0.00,`\n' +
  '`2024-04-25 23:59:59,`wxd930ea5d5a258f4f,`1900000109,`0,`,`4200002216202404251234567890,`ORD20240425100000ABC123,`oUpF8uMEb4qRXf22hE3X68TekukE,`JSAPI,`REFUND,`OTHERS,`CNY,`29.90,`0.00,`50000000382019052709732678859,`RF20240425235900ABCDEFGH,`10.00,`0.00,`ORIGINAL,`SUCCESS,`终身会员, 含赠送额度,`,`-0.06000,`0.60%,`29.90,`10.00,`\n' +
  '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n' +
  '`2,`29.90,`10.00,`0.00,`0.12000,`29.90,`10.00\n';

describe('trade bill parsing', () => {
  it("parses WeChat's documented example (the older 24-column layout, amounts in 总金额)", () => {
    const rows = parseTradeBill(DOC_EXAMPLE_24);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      orderNo: '1415640626',
      transactionId: '1001690740201411100005734289',
      tradeState: 'SUCCESS',
      totalFen: 1,
      refundFen: 0,
      refundNo: '',
      wxRefundId: '',
      openid: '085e9858e3ba5186aafcbaed1',
    });
    expect(rows[0].tradeTime?.toISOString()).toBe('2014-11-10T08:33:45.000Z');
    expect(rows[1]).toMatchObject({
      tradeState: 'REFUND',
      refundNo: '1415635270',
      wxRefundId: '2002780740201411100002127813',
      refundFen: 1,
      refundStatus: 'SUCCESS',
    });
  });

  it('parses the current 27-column bill: 订单金额 and 申请退款金额 win, a comma inside a product name is kept', () => {
    const rows = parseTradeBill(CURRENT_27);
    expect(rows).toEqual([
      {
        tradeTime: new Date('2024-04-25T02:05:09Z'),
        appId: 'wxd930ea5d5a258f4f',
        mchId: '1900000109',
        transactionId: '4200002216202404251234567890',
        orderNo: 'ORD20240425100000ABC123',
        openid: 'oUpF8uMEb4qRXf22hE3X68TekukE',
        tradeState: 'SUCCESS',
        totalFen: 2990,
        wxRefundId: '',
        refundNo: '',
        refundFen: 0,
        refundStatus: '',
      },
      {
        tradeTime: new Date('2024-04-25T15:59:59Z'),
        appId: 'wxd930ea5d5a258f4f',
        mchId: '1900000109',
        transactionId: '4200002216202404251234567890',
        orderNo: 'ORD20240425100000ABC123',
        openid: 'oUpF8uMEb4qRXf22hE3X68TekukE',
        tradeState: 'REFUND',
        totalFen: 2990,
        wxRefundId: '50000000382019052709732678859',
        refundNo: 'RF20240425235900ABCDEFGH',
        refundFen: 1000,
        refundStatus: 'SUCCESS',
      },
    ]);
  });

  it('a bill with only the summary (no transaction) is empty', () => {
    const header = CURRENT_27.split('\n')[0];
    expect(parseTradeBill(`${header}\n总交易单数,应结订单总金额\n\`0,\`0.00\n`)).toEqual([]);
  });

  it.each([
    ['empty text', ''],
    ['truncated before the summary', CURRENT_27.split('\n').slice(0, 3).join('\n')],
    ['a summary that counts another number of lines', CURRENT_27.replace('`2,`29.90', '`3,`29.90')],
    ['a missing 商户订单号 column', CURRENT_27.replace('商户订单号', '商户单号')],
    ['an unreadable amount', CURRENT_27.replace('`0.60%,`29.90,`0.00,`', '`0.60%,`29.9O,`0.00,`')],
    ['an unreadable time', CURRENT_27.replace('2024-04-25 10:05:09', '2024-04-25T10:05:09')],
    ['a line with too few fields', CURRENT_27.replace(/\n`2024-04-25 10:05:09[^\n]*/, '\n`2024-04-25 10:05:09,`wx')],
    ['an XML error document', '<xml><return_code><![CDATA[FAIL]]></return_code></xml>'],
  ])('refuses %s', (_name, text) => {
    expect(() => parseTradeBill(text)).toThrow(TradeBillFormatError);
  });
});

describe('trade bill values', () => {
  it.each([
    ['29.90', 2990],
    ['29.9', 2990],
    ['0.01', 1],
    ['0.0', 0],
    ['0', 0],
    ['100000', 10000000],
  ])('yuan %s is %d fen', (yuan, fen) => {
    expect(billYuanToFen(yuan)).toBe(fen);
  });

  it.each(['-1.00', '1.001', '1,000.00', '', 'abc', '0.60%'])('refuses amount %p', (v) => {
    expect(billYuanToFen(v)).toBeNull();
  });

  it('times are Asia/Shanghai wall time; impossible dates are refused', () => {
    expect(parseBillTime('2025-01-01 00:00:00')?.toISOString()).toBe('2024-12-31T16:00:00.000Z');
    expect(parseBillTime('2024-02-30 10:00:00')).toBeNull();
    expect(parseBillTime('2024-04-25 24:00:00')).toBeNull();
  });
});

describe('trade bill writing (the sandbox) round-trips through the parser', () => {
  it('SUCCESS and REFUND lines, amounts and refund columns survive; the summary counts them', () => {
    const paidAt = new Date('2024-04-25T02:05:09Z');
    const text = formatTradeBill([
      {
        tradeTime: paidAt,
        appId: 'wx1',
        mchId: '1900000109',
        transactionId: '4200000001',
        orderNo: 'ORD1',
        openid: 'oA',
        tradeType: 'JSAPI',
        tradeState: 'SUCCESS',
        totalFen: 1801,
        product: '额度, 20张',
      },
      {
        tradeTime: new Date(paidAt.getTime() + 60_000),
        appId: 'wx1',
        mchId: '1900000109',
        transactionId: '4200000001',
        orderNo: 'ORD1',
        openid: 'oA',
        tradeType: 'JSAPI',
        tradeState: 'REFUND',
        totalFen: 1801,
        wxRefundId: '5000001',
        refundNo: 'RF1',
        refundFen: 901,
        refundStatus: 'SUCCESS',
        product: '额度, 20张',
      },
    ]);
    expect(text.split('\r\n')[0]).toBe(CURRENT_27.replace('\uFEFF', '').split('\n')[0]);
    const rows = parseTradeBill(text);
    expect(rows.map((r) => [r.tradeState, r.orderNo, r.totalFen, r.refundNo, r.refundFen, r.tradeTime?.getTime()])).toEqual([
      ['SUCCESS', 'ORD1', 1801, '', 0, paidAt.getTime()],
      ['REFUND', 'ORD1', 1801, 'RF1', 901, paidAt.getTime() + 60_000],
    ]);
    expect(text).toContain('总交易单数');
    expect(text.trim().split('\r\n').pop()).toMatch(/^`2,`18\.01,`9\.01,/);
  });
});
