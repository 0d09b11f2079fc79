import { DatabaseService } from '../../src/database/database.service';
import { eventually, type TestApp } from '../setup/test-app';
import { call, type Json, login } from './api-client';

/**
 * Buying as a member does it, through the service's own API: sandbox OAuth login → create-order →
 * the sandbox's pay sheet → WeChat Pay's notification → paid. A placed order carries what a signed
 * notification for it needs (`{ ...order, transactionId }` is its PaidFacts).
 */
export interface PlacedOrder {
  openid: string;
  /** The buyer's session token. */
  token: string;
  orderNo: string;
  prepayId: string;
  /** Yuan, as create-order answers. */
  amount: number;
  totalFen: number;
  /** The JSAPI parameters handed to the page. */
  params: Record<string, string>;
}

/** The cheapest package: 10 credits for 9.90. */
export const CREDITS_10 = { order_type: 'credits', credits_amount: 10 } as const;

/** The prepay id inside the page's `package` parameter (`prepay_id=…`). */
export function prepayIdOf(params: { package: string }): string {
  return String(params.package).replace('prepay_id=', '');
}

/** Logs in as `openid` and places an order (create-order must answer 200). */
export async function placeOrder(app: TestApp, openid: string, body: Json = CREDITS_10): Promise<PlacedOrder> {
  const token = await login(app, openid);
  const r = await call(app, 'POST', '/api/v1/payment/create-order', { token, body });
  expect(r.status).toBe(200);
  return {
    openid,
    token,
    orderNo: r.body.order_no,
    prepayId: prepayIdOf(r.body.payment_params),
    amount: r.body.amount,
    totalFen: Math.round(r.body.amount * 100),
    params: r.body.payment_params,
  };
}

/** The order's row status (pending, paid, closed, …). */
async function orderStatus(app: TestApp, orderNo: string): Promise<string | undefined> {
  const rows = await app.app
    .get(DatabaseService)
    .dataSource.query<Json[]>('SELECT status FROM payment_orders WHERE order_no = ?', [orderNo]);
  return rows[0]?.status;
}

/**
 * The buyer pays on the sandbox's pay sheet. `notify`: 'now' = WeChat Pay's notification is sent at
 * once and this waits until the order is paid; 'never' = WeChat took the money, we are never told.
 */
export async function payInSandbox(
  app: TestApp,
  order: Pick<PlacedOrder, 'orderNo' | 'prepayId'>,
  notify: 'now' | 'never' = 'now',
): Promise<void> {
  const r = await call(app, 'POST', '/sandbox/actions/pay', { body: { prepay_id: order.prepayId, result: 'success', notify } });
  expect(r.status).toBe(200);
  if (notify === 'now') await eventually(async () => (await orderStatus(app, order.orderNo)) === 'paid');
}

/** placeOrder, then payInSandbox with the notification sent at once: the order is paid when this returns. */
export async function buy(app: TestApp, openid: string, body: Json = CREDITS_10): Promise<PlacedOrder> {
  const order = await placeOrder(app, openid, body);
  await payInSandbox(app, order);
  return order;
}
