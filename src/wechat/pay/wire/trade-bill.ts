import type { TradeBillRow } from '../pay.client';
import { fromShanghaiWallClock, toLegacyDateTime } from '../../../common/time-format';

/**
 * WeChat Pay's trade bill (交易账单), the same text for v2 `pay/downloadbill` and the file behind
 * v3 `/v3/bill/tradebill`: a header line of Chinese column names, one line per transaction or
 * refund where every field starts with a backtick (so spreadsheets keep long numbers as text), then
 * a summary header (`总交易单数,…`) and one summary line. Columns are found by name: WeChat has
 * added columns over the years (订单金额, 申请退款金额, 费率备注) and the order may not be relied on.
 */

export class TradeBillFormatError extends Error {
  constructor(message: string) {
    super(`trade bill: ${message}`);
    this.name = 'TradeBillFormatError';
  }
}

const COLUMNS = {
  tradeTime: '交易时间',
  appId: '公众账号ID',
  mchId: '商户号',
  subMchId: '特约商户号',
  deviceInfo: '设备号',
  transactionId: '微信订单号',
  orderNo: '商户订单号',
  openid: '用户标识',
  tradeType: '交易类型',
  tradeState: '交易状态',
  bank: '付款银行',
  currency: '货币种类',
  settlementTotal: '应结订单金额',
  coupon: '代金券金额',
  wxRefundId: '微信退款单号',
  refundNo: '商户退款单号',
  refund: '退款金额',
  couponRefund: '充值券退款金额',
  refundType: '退款类型',
  refundStatus: '退款状态',
  product: '商品名称',
  attach: '商户数据包',
  fee: '手续费',
  rate: '费率',
  total: '订单金额',
  requestedRefund: '申请退款金额',
  rateNote: '费率备注',
} as const;

/** The amount column of the older 24-column layout (WeChat's documented example). */
const LEGACY_TOTAL = '总金额';

/** The columns of a current `bill_type=ALL` bill, in WeChat's order (what the sandbox writes). */
export const TRADE_BILL_HEADER: readonly string[] = Object.values(COLUMNS);
export const TRADE_BILL_SUMMARY_HEADER = [
  '总交易单数',
  '应结订单总金额',
  '退款总金额',
  '充值券退款总金额',
  '手续费总金额',
  '订单总金额',
  '申请退款总金额',
];

/** `2024-04-25 10:05:09` (Asia/Shanghai) → Date; null for anything else. */
export function parseBillTime(value: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const date = fromShanghaiWallClock(y, mo, d, h, mi, s);
  return formatBillTime(date) === value ? date : null;
}

export function formatBillTime(date: Date): string {
  return toLegacyDateTime(date) as string;
}

/** `29.90`, `0.0`, `0` (yuan, at most two decimals) → fen; null for anything else. */
export function billYuanToFen(value: string): number | null {
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(value);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

export function fenToBillYuan(fen: number): string {
  return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

/** One bill line's fields: leading backticks removed, whitespace trimmed. */
function splitLine(line: string): string[] {
  const body = line.startsWith('`') ? line.slice(1) : line;
  // A field starts with a backtick, so ",`" separates fields even when a product name has a comma.
  const parts = line.startsWith('`') ? body.split(',`') : body.split(',');
  return parts.map((p) => p.replace(/^`/, '').trim());
}

/**
 * Parses a trade bill. Throws TradeBillFormatError when the text is not a bill, a required column
 * is missing, a value is unreadable, or the summary is absent or counts another number of lines
 * (a truncated download).
 */
export function parseTradeBill(text: string): TradeBillRow[] {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length === 0) throw new TradeBillFormatError('empty');
  const header = splitLine(lines[0]);
  const index = (name: string) => header.indexOf(name);
  for (const required of [COLUMNS.tradeTime, COLUMNS.orderNo, COLUMNS.tradeState, COLUMNS.transactionId]) {
    if (index(required) < 0) throw new TradeBillFormatError(`column ${required} missing`);
  }
  // The amount: 订单金额 (current bills), else 应结订单金额, else 总金额 (the older 24-column layout).
  const totalColumn = [COLUMNS.total, COLUMNS.settlementTotal, LEGACY_TOTAL].find((c) => index(c) >= 0);
  if (!totalColumn) throw new TradeBillFormatError(`column ${COLUMNS.total} missing`);

  const rows: TradeBillRow[] = [];
  let summary: string[] | null = null;
  for (let i = 1; i < lines.length; i++) {
    const fields = splitLine(lines[i]);
    if (fields[0] === TRADE_BILL_SUMMARY_HEADER[0]) {
      summary = lines[i + 1] === undefined ? null : splitLine(lines[i + 1]);
      break;
    }
    if (fields.length < header.length)
      throw new TradeBillFormatError(`line ${i + 1} has ${fields.length} fields, header has ${header.length}`);
    const get = (name: string) => {
      const at = index(name);
      return at < 0 ? '' : (fields[at] ?? '');
    };
    const amount = (name: string, line = i + 1): number => {
      const raw = get(name);
      if (raw === '') return 0;
      const fen = billYuanToFen(raw);
      if (fen === null) throw new TradeBillFormatError(`line ${line}: ${name} ${JSON.stringify(raw.slice(0, 20))} is not an amount`);
      return fen;
    };
    const tradeTime = parseBillTime(get(COLUMNS.tradeTime));
    if (!tradeTime) throw new TradeBillFormatError(`line ${i + 1}: unreadable ${COLUMNS.tradeTime}`);
    const orderNo = get(COLUMNS.orderNo);
    if (!orderNo) throw new TradeBillFormatError(`line ${i + 1}: empty ${COLUMNS.orderNo}`);
    const total = amount(totalColumn);
    const requested = index(COLUMNS.requestedRefund) >= 0 ? amount(COLUMNS.requestedRefund) : 0;
    rows.push({
      tradeTime,
      appId: get(COLUMNS.appId),
      mchId: get(COLUMNS.mchId),
      transactionId: get(COLUMNS.transactionId),
      orderNo,
      openid: get(COLUMNS.openid),
      tradeState: get(COLUMNS.tradeState),
      totalFen: total,
      wxRefundId: zeroAsEmpty(get(COLUMNS.wxRefundId)),
      refundNo: zeroAsEmpty(get(COLUMNS.refundNo)),
      refundFen: requested > 0 ? requested : amount(COLUMNS.refund),
      refundStatus: get(COLUMNS.refundStatus),
    });
  }
  if (!summary) throw new TradeBillFormatError('summary missing (truncated download?)');
  const count = Number(summary[0]);
  if (!Number.isSafeInteger(count) || count !== rows.length) {
    throw new TradeBillFormatError(`summary counts ${summary[0]} lines, the bill has ${rows.length}`);
  }
  return rows;
}

/** Payment lines carry `0` in the refund-number columns. */
function zeroAsEmpty(value: string): string {
  return value === '0' ? '' : value;
}

/** What the sandbox writes for one line (fields as WeChat fills them). */
export interface TradeBillLine {
  tradeTime: Date;
  appId: string;
  mchId: string;
  transactionId: string;
  orderNo: string;
  openid: string;
  tradeType: string;
  tradeState: 'SUCCESS' | 'REFUND';
  totalFen: number;
  wxRefundId?: string;
  refundNo?: string;
  refundFen?: number;
  refundStatus?: string;
  product: string;
  attach?: string;
}

/** Writes a `bill_type=ALL` bill in WeChat's format (the sandbox's bills). Fee: 0.6 %, to 5 decimals of yuan. */
export function formatTradeBill(lines: TradeBillLine[]): string {
  const tick = (values: Array<string | number>) => values.map((v) => `\`${v}`).join(',');
  const fee = (fen: number) => (Math.round(fen * 6) / 100000).toFixed(5);
  let settlement = 0;
  let refunds = 0;
  let fees = 0;
  let totals = 0;
  let requested = 0;
  const body = lines.map((l) => {
    const refund = l.tradeState === 'REFUND' ? (l.refundFen ?? 0) : 0;
    const lineFee = l.tradeState === 'REFUND' ? -Math.round(refund * 6) : Math.round(l.totalFen * 6);
    settlement += l.tradeState === 'SUCCESS' ? l.totalFen : 0;
    totals += l.tradeState === 'SUCCESS' ? l.totalFen : 0;
    refunds += refund;
    requested += refund;
    fees += lineFee;
    return tick([
      formatBillTime(l.tradeTime),
      l.appId,
      l.mchId,
      '0',
      '',
      l.transactionId,
      l.orderNo,
      l.openid,
      l.tradeType,
      l.tradeState,
      'OTHERS',
      'CNY',
      fenToBillYuan(l.totalFen),
      '0.00',
      l.wxRefundId || '0',
      l.refundNo || '0',
      fenToBillYuan(refund),
      '0.00',
      l.tradeState === 'REFUND' ? 'ORIGINAL' : '',
      l.refundStatus ?? '',
      l.product.replace(/[,`\r\n]/g, ' '),
      (l.attach ?? '').replace(/[,`\r\n]/g, ' '),
      l.tradeState === 'REFUND' ? `-${fee(Math.round(refund))}` : fee(l.totalFen),
      '0.60%',
      fenToBillYuan(l.totalFen),
      fenToBillYuan(refund),
      '',
    ]);
  });
  const summary = tick([
    lines.length,
    fenToBillYuan(settlement),
    fenToBillYuan(refunds),
    '0.00',
    (fees / 100000).toFixed(5),
    fenToBillYuan(totals),
    fenToBillYuan(requested),
  ]);
  return [TRADE_BILL_HEADER.join(','), ...body, TRADE_BILL_SUMMARY_HEADER.join(','), summary, ''].join('\r\n');
}
