import type { DataSource } from 'typeorm';
import { DomainError } from '../../src/common/errors';
import type { InternalApi } from '../../src/internal/internal-api';
import { expectInvariants } from '../setup/invariants';
import { insertConsoleScene, insertLegacyBinding, insertOrder, insertQrScene, insertRefund } from './seed';

/** The operator the contract's app server lists in ADMIN_OPENIDS (console login). */
export const CONTRACT_OPERATOR = 'oContractOperator';

export interface ContractSubject {
  api: InternalApi;
  /** The data owner's database, to seed and inspect. */
  ds: DataSource;
}

async function expectDomainError(p: Promise<unknown>, status: number, detail: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  expect({ status: (err as DomainError).status, detail: (err as DomainError).detail }).toEqual({ status, detail });
}

let seq = 0;
const uid = (p: string) => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`.slice(0, 60);

/**
 * One contract for every InternalApi implementation (docs/internal.md): the same calls give the same
 * results and the same typed errors whether in-process or over signed HTTP.
 */
export function internalApiContract(subject: () => ContractSubject): void {
  const api = () => subject().api;
  const q = (sql: string, params: unknown[] = []) => subject().ds.query<Array<Record<string, unknown>>>(sql, params);

  afterEach(async () => {
    await expectInvariants((sql) => q(sql));
  });

  it('health reports the database', async () => {
    expect(await api().health()).toEqual({ success: true, database: 'connected' });
  });

  it('createOrUpdateUser: a subscribe creates the user with the initial credits once', async () => {
    const openid = uid('oSub');
    const first = await api().createOrUpdateUser({ openid, source: 'subscribe', event_time: new Date().toISOString() });
    expect(first).toEqual({
      success: true,
      created: true,
      credits_granted: 10,
      user: { openid, remaining_credits: 10, is_member: false, subscribed: true },
    });
    const again = await api().createOrUpdateUser({ openid, source: 'subscribe' });
    expect(again).toMatchObject({ created: false, credits_granted: 0, user: { remaining_credits: 10 } });
    expect(await q('SELECT reason FROM credit_ledger WHERE openid = ?', [openid])).toEqual([{ reason: 'signup_bonus' }]);
  });

  it('unsubscribe keeps credits and clears the subscription; a scan follows again without new credits', async () => {
    const openid = uid('oUns');
    await api().createOrUpdateUser({ openid, source: 'subscribe' });
    expect(await api().createOrUpdateUser({ openid, source: 'unsubscribe' })).toMatchObject({
      created: false,
      user: { subscribed: false, remaining_credits: 10 },
    });
    expect(await api().createOrUpdateUser({ openid, source: 'scan' })).toMatchObject({ credits_granted: 0, user: { subscribed: true } });
  });

  it('an OAuth login creates an unfollowed user with the initial credits; unsubscribe of an unknown openid creates nothing', async () => {
    const openid = uid('oOauth');
    expect(await api().createOrUpdateUser({ openid, source: 'oauth' })).toMatchObject({
      created: true,
      credits_granted: 10,
      user: { subscribed: false },
    });
    const ghost = uid('oGhost');
    expect(await api().createOrUpdateUser({ openid: ghost, source: 'unsubscribe' })).toEqual({
      success: true,
      created: false,
      credits_granted: 0,
      user: null,
    });
    expect(await q('SELECT openid FROM wechat_users WHERE openid = ?', [ghost])).toEqual([]);
  });

  it('createBinding creates once and returns the same row after', async () => {
    const clientId = uid('PC_contract_');
    const a = await api().createBinding(clientId);
    expect(a).toEqual({ success: true, binding: { id: expect.any(Number), client_id: clientId, status: 'pending', openid: null } });
    expect((await api().createBinding(clientId)).binding.id).toBe(a.binding.id);
  });

  it('updateBinding: live string scene binds (and re-binds to another openid); expired and unknown do not', async () => {
    const clientId = uid('PC_scene_');
    const live = uid('bind_live');
    const expired = uid('bind_old');
    await insertQrScene(subject().ds, { sceneStr: live, clientId, expireAt: new Date(Date.now() + 600_000) });
    await insertQrScene(subject().ds, { sceneStr: expired, clientId, expireAt: new Date(Date.now() - 1000) });
    const [u1, u2] = [uid('oBind1'), uid('oBind2')];
    expect(await api().updateBinding({ scene: live, openid: u1, event: 'subscribe' })).toEqual({ success: true, bound: true });
    expect(await api().resolveClient(clientId)).toMatchObject({ openid: u1 });
    expect(await api().updateBinding({ scene: live, openid: u2, event: 'scan' })).toEqual({ success: true, bound: true });
    expect(await api().resolveClient(clientId)).toMatchObject({ openid: u2 });
    expect(await api().updateBinding({ scene: expired, openid: u1, event: 'scan' })).toEqual({
      success: true,
      bound: false,
      reason: 'expired',
    });
    expect(await api().updateBinding({ scene: uid('bind_none'), openid: u1, event: 'scan' })).toEqual({
      success: true,
      bound: false,
      reason: 'unknown',
    });
  });

  it('updateBinding: legacy integer scenes follow the old rules and new rows never answer them', async () => {
    const base = 900000 + Math.floor(Math.random() * 90000);
    const [owner, other] = [uid('oLegA'), uid('oLegB')];
    await insertLegacyBinding(subject().ds, { id: base, clientId: uid('PC_leg_p_') });
    await insertLegacyBinding(subject().ds, { id: base + 1, clientId: uid('PC_leg_c_'), openid: owner });
    const fresh = await api().createBinding(uid('PC_new_'));
    // SCAN binds a pending legacy row only.
    expect(await api().updateBinding({ scene: String(base), openid: owner, event: 'scan' })).toMatchObject({ bound: true });
    expect(await api().updateBinding({ scene: String(base + 1), openid: owner, event: 'scan' })).toMatchObject({
      bound: false,
      reason: 'not_pending',
    });
    // subscribe re-confirms the same openid, never re-binds to another.
    expect(await api().updateBinding({ scene: String(base + 1), openid: owner, event: 'subscribe' })).toMatchObject({ bound: true });
    expect(await api().updateBinding({ scene: String(base + 1), openid: other, event: 'subscribe' })).toMatchObject({
      bound: false,
      reason: 'not_pending',
    });
    expect(await api().updateBinding({ scene: String(fresh.binding.id), openid: other, event: 'subscribe' })).toMatchObject({
      bound: false,
      reason: 'unknown',
    });
  });

  it('claimCallbackNonce: fresh once, a retry with the same body is not fresh, another body is 409', async () => {
    const req = { timestamp: String(Math.floor(Date.now() / 1000)), nonce: uid('n'), body_sha256: 'a'.repeat(64) };
    expect(await api().claimCallbackNonce(req)).toEqual({ success: true, fresh: true });
    expect(await api().claimCallbackNonce(req)).toEqual({ success: true, fresh: false });
    await expectDomainError(api().claimCallbackNonce({ ...req, body_sha256: 'b'.repeat(64) }), 409, '重放请求');
  });

  it('applyPush: the claim, the user event and the binding in one call; a retry changes nothing twice; another body is 409 and changes nothing', async () => {
    const clientId = uid('PC_push_');
    const scene = uid('bind_push');
    await insertQrScene(subject().ds, { sceneStr: scene, clientId, expireAt: new Date(Date.now() + 600_000) });
    const openid = uid('oPush');
    const req = {
      timestamp: String(Math.floor(Date.now() / 1000)),
      nonce: uid('n'),
      body_sha256: 'c'.repeat(64),
      openid,
      source: 'subscribe' as const,
      scene,
    };
    expect(await api().applyPush(req)).toEqual({
      success: true,
      fresh: true,
      user: { created: true, credits_granted: 10, user: { openid, remaining_credits: 10, is_member: false, subscribed: true } },
      binding: { bound: true },
    });
    expect(await api().resolveClient(clientId)).toMatchObject({ openid, subscribed: true });
    // WeChat's retry: same pair, same body — applied again idempotently.
    expect(await api().applyPush(req)).toMatchObject({
      fresh: false,
      user: { created: false, credits_granted: 0, user: { remaining_credits: 10 } },
      binding: { bound: true },
    });
    const ledger = () => q('SELECT reason, delta FROM credit_ledger WHERE openid = ?', [openid]);
    expect(await ledger()).toEqual([{ reason: 'signup_bonus', delta: 10 }]);
    // The same pair with another body: a replay, refused with nothing changed.
    const other = uid('oReplay');
    await expectDomainError(api().applyPush({ ...req, body_sha256: 'd'.repeat(64), openid: other }), 409, '重放请求');
    expect(await q('SELECT openid FROM wechat_users WHERE openid = ?', [other])).toEqual([]);
    // A push without effects still claims its pair; a scene needs an openid and a binding event.
    const bare = { timestamp: req.timestamp, nonce: uid('n'), body_sha256: 'e'.repeat(64) };
    expect(await api().applyPush(bare)).toEqual({ success: true, fresh: true });
    expect(await api().claimCallbackNonce(bare)).toEqual({ success: true, fresh: false });
    await expectDomainError(api().applyPush({ ...bare, nonce: uid('n'), scene }), 400, 'openid: required with source or scene');
  });

  it('consumeCredits: charges once per task, by openid or bound client_id; short → 402 and nothing written', async () => {
    const openid = uid('oSpend');
    await api().createOrUpdateUser({ openid, source: 'subscribe' });
    const task = { openid, task_id: uid('t'), task_type: 'image_edit', amount: 3, request_image_count: 3, success_image_count: 2 };
    expect(await api().consumeCredits(task)).toEqual({ success: true, consumed: 3, remaining_credits: 7 });
    expect(await api().consumeCredits(task)).toEqual({ success: true, consumed: 3, remaining_credits: 7 });
    expect(await q('SELECT credits_used, request_image_count, success_image_count FROM credits_usage WHERE openid = ?', [openid])).toEqual([
      { credits_used: 3, request_image_count: 3, success_image_count: 2 },
    ]);
    const before = await q('SELECT COUNT(*) AS n FROM credit_ledger WHERE openid = ?', [openid]);
    await expectDomainError(api().consumeCredits({ openid, task_id: uid('t'), task_type: 'image_edit', amount: 8 }), 402, '额度不足');
    expect(await q('SELECT COUNT(*) AS n FROM credit_ledger WHERE openid = ?', [openid])).toEqual(before);
    expect(await q('SELECT remaining_credits, used_credits FROM wechat_users WHERE openid = ?', [openid])).toEqual([
      { remaining_credits: 7, used_credits: 3 },
    ]);

    await expectDomainError(
      api().consumeCredits({ client_id: uid('PC_unbound_'), task_id: uid('t'), task_type: 'x', amount: 1 }),
      404,
      '用户未关注公众号',
    );
    const clientId = uid('PC_spend_');
    const scene = uid('bind_spend');
    await insertQrScene(subject().ds, { sceneStr: scene, clientId, expireAt: new Date(Date.now() + 600_000) });
    await api().updateBinding({ scene, openid, event: 'scan' });
    expect(await api().consumeCredits({ client_id: ` ${clientId} `.trim(), task_id: uid('t'), task_type: 'x', amount: 2 })).toMatchObject({
      consumed: 2,
      remaining_credits: 5,
    });
  });

  it('refundCredits: at most what the task consumed, once; unknown task → 404', async () => {
    const openid = uid('oRefund');
    await api().createOrUpdateUser({ openid, source: 'subscribe' });
    const task = { task_id: uid('t'), task_type: 'image_edit' };
    await api().consumeCredits({ openid, ...task, amount: 4 });
    expect(await api().refundCredits({ ...task, amount: 99 })).toEqual({ success: true, refunded: 4, remaining_credits: 10 });
    expect(await api().refundCredits({ ...task, amount: 1 })).toEqual({ success: true, refunded: 4, remaining_credits: 10 });
    await expectDomainError(api().refundCredits({ task_id: uid('none'), task_type: 'image_edit' }), 404, '任务不存在');
    expect(await q('SELECT total_credits, used_credits, remaining_credits FROM wechat_users WHERE openid = ?', [openid])).toEqual([
      { total_credits: 10, used_credits: 0, remaining_credits: 10 },
    ]);
  });

  it('a task is per user: the same ids from another user are charged to that user, and its refund names the user or is 409', async () => {
    const [a, b] = [uid('oTaskA'), uid('oTaskB')];
    for (const openid of [a, b]) await api().createOrUpdateUser({ openid, source: 'subscribe' });
    const task = { task_id: uid('shared'), task_type: 'image_edit' };
    expect(await api().consumeCredits({ openid: a, ...task, amount: 3 })).toEqual({ success: true, consumed: 3, remaining_credits: 7 });
    // B's own task: B is charged and sees B's balance, never A's.
    expect(await api().consumeCredits({ openid: b, ...task, amount: 2 })).toEqual({ success: true, consumed: 2, remaining_credits: 8 });
    expect(await api().consumeCredits({ openid: b, ...task, amount: 2 })).toEqual({ success: true, consumed: 2, remaining_credits: 8 });
    await expectDomainError(api().refundCredits({ ...task }), 409, '多个用户有相同的任务，请提供 openid 或 client_id');
    expect(await api().refundCredits({ openid: b, ...task })).toEqual({ success: true, refunded: 2, remaining_credits: 10 });
    expect(await api().refundCredits({ openid: b, ...task })).toEqual({ success: true, refunded: 2, remaining_credits: 10 });
    await expectDomainError(api().refundCredits({ openid: uid('oTaskNobody'), ...task }), 404, '任务不存在');
    const clientId = uid('PC_task_');
    const scene = uid('bind_task');
    await insertQrScene(subject().ds, { sceneStr: scene, clientId, expireAt: new Date(Date.now() + 600_000) });
    await api().updateBinding({ scene, openid: a, event: 'scan' });
    expect(await api().refundCredits({ client_id: clientId, ...task, amount: 1 })).toEqual({
      success: true,
      refunded: 1,
      remaining_credits: 8,
    });
    expect(
      await q('SELECT openid, remaining_credits, used_credits FROM wechat_users WHERE openid IN (?, ?) ORDER BY openid', [a, b]),
    ).toEqual([
      { openid: a, remaining_credits: 8, used_credits: 2 },
      { openid: b, remaining_credits: 10, used_credits: 0 },
    ]);
    // A task only one user has is still refunded without naming the user.
    const own = { task_id: uid('own'), task_type: 'image_edit' };
    await api().consumeCredits({ openid: b, ...own, amount: 4 });
    expect(await api().refundCredits({ ...own })).toEqual({ success: true, refunded: 4, remaining_credits: 10 });
  });

  it('task ids are unambiguous and compared byte for byte; leading/trailing whitespace → 400 and nothing charged', async () => {
    const openid = uid('oTaskBytes');
    await api().createOrUpdateUser({ openid, source: 'subscribe' });
    const base = uid('JobA');
    const tasks = [
      { task_type: 'x:y', task_id: `Z${base}` },
      { task_type: 'x', task_id: `y:Z${base}` },
      { task_type: 'image_edit', task_id: base },
      { task_type: 'image_edit', task_id: base.toLowerCase() },
      { task_type: 'image_edit', task_id: base.replace('o', 'ö') },
      { task_type: 'Image_edit', task_id: base },
    ];
    let left = 10;
    for (const t of tasks)
      expect(await api().consumeCredits({ openid, ...t, amount: 1 })).toEqual({ success: true, consumed: 1, remaining_credits: --left });
    for (const t of tasks)
      expect(await api().consumeCredits({ openid, ...t, amount: 1 })).toEqual({ success: true, consumed: 1, remaining_credits: left });
    for (const [field, value] of [
      ['task_id', `${base} `],
      ['task_id', ` ${base}`],
      ['task_type', 'image_edit '],
      ['task_type', '\timage_edit'],
    ]) {
      await expectDomainError(
        api().consumeCredits({ openid, task_type: 'image_edit', task_id: base, [field]: value, amount: 1 }),
        400,
        `${field}: 首尾不能有空白字符`,
      );
      await expectDomainError(
        api().refundCredits({ openid, task_type: 'image_edit', task_id: base, [field]: value }),
        400,
        `${field}: 首尾不能有空白字符`,
      );
    }
    expect(await api().refundCredits({ openid, task_type: 'x', task_id: `y:Z${base}` })).toEqual({
      success: true,
      refunded: 1,
      remaining_credits: left + 1,
    });
    expect(await q("SELECT COUNT(*) AS n FROM credit_ledger WHERE openid = ? AND reason = 'consume'", [openid])).toEqual([
      { n: tasks.length },
    ]);
    expect(await q('SELECT COUNT(*) AS n FROM credits_usage WHERE openid = ?', [openid])).toEqual([{ n: tasks.length }]);
  });

  it('consoleLogin: a listed operator approves a live console code once; anyone else is refused and audited; the rest is expired', async () => {
    const [live, other, old] = [uid('console_live'), uid('console_other'), uid('console_old')];
    await insertConsoleScene(subject().ds, { sceneStr: live, expireAt: new Date(Date.now() + 120_000) });
    await insertConsoleScene(subject().ds, { sceneStr: other, expireAt: new Date(Date.now() + 120_000) });
    await insertConsoleScene(subject().ds, { sceneStr: old, expireAt: new Date(Date.now() - 1000) });
    expect(await api().consoleLogin({ scene: live, openid: CONTRACT_OPERATOR })).toEqual({ success: true, result: 'approved' });
    // Single use: a second scan (even by the operator) changes nothing.
    expect(await api().consoleLogin({ scene: live, openid: CONTRACT_OPERATOR })).toEqual({ success: true, result: 'expired' });
    const stranger = uid('oStranger');
    expect(await api().consoleLogin({ scene: other, openid: stranger })).toEqual({ success: true, result: 'refused' });
    expect(await q('SELECT action FROM console_audit WHERE operator_openid = ?', [stranger])).toEqual([{ action: 'login_refused' }]);
    expect(await api().consoleLogin({ scene: old, openid: CONTRACT_OPERATOR })).toEqual({ success: true, result: 'expired' });
    expect(await api().consoleLogin({ scene: uid('console_none'), openid: CONTRACT_OPERATOR })).toEqual({
      success: true,
      result: 'expired',
    });
    expect(
      await q('SELECT scene_str, status, openid FROM console_login_scenes WHERE scene_str IN (?, ?, ?) ORDER BY id', [live, other, old]),
    ).toEqual([
      { scene_str: live, status: 'approved', openid: CONTRACT_OPERATOR },
      { scene_str: other, status: 'refused', openid: stranger },
      { scene_str: old, status: 'pending', openid: null },
    ]);
  });

  it('resolveClient: unbound client has no openid; a bound one reports its user', async () => {
    expect(await api().resolveClient(uid('PC_nobody_'))).toEqual({ success: true, openid: null, subscribed: false, is_member: false });
    const clientId = uid('PC_resolve_');
    const scene = uid('bind_res');
    const openid = uid('oRes');
    await insertQrScene(subject().ds, { sceneStr: scene, clientId, expireAt: new Date(Date.now() + 600_000) });
    await api().createOrUpdateUser({ openid, source: 'subscribe' });
    await api().updateBinding({ scene, openid, event: 'subscribe' });
    expect(await api().resolveClient(clientId)).toEqual({ success: true, openid, subscribed: true, is_member: false });
  });

  describe('applyPayment', () => {
    async function buyer(prefix: string) {
      const openid = uid(prefix);
      await api().createOrUpdateUser({ openid, source: 'subscribe' });
      return openid;
    }

    it('credits a paid credits order exactly once and records the payment', async () => {
      const openid = await buyer('oPay');
      const orderNo = uid('ORDC');
      await insertOrder(subject().ds, { orderNo, openid, type: 'credits', amountFen: 990, credits: 10 });
      const paid = {
        order_no: orderNo,
        status: 'paid' as const,
        transaction_id: uid('4200'),
        total_fen: 990,
        payer_openid: openid,
        paid_at: new Date().toISOString(),
        raw: '<xml/>',
      };
      expect(await api().applyPayment(paid)).toEqual({ success: true, applied: true, order_status: 'paid' });
      expect(await api().applyPayment(paid)).toEqual({ success: true, applied: false, order_status: 'paid' });
      expect(await q('SELECT remaining_credits, total_credits, total_paid_amount FROM wechat_users WHERE openid = ?', [openid])).toEqual([
        { remaining_credits: 20, total_credits: 20, total_paid_amount: expect.anything() },
      ]);
      expect(Number((await q('SELECT total_paid_amount AS t FROM wechat_users WHERE openid = ?', [openid]))[0].t)).toBeCloseTo(9.9, 5);
      expect(await q("SELECT reason, delta FROM credit_ledger WHERE openid = ? AND reason = 'purchase'", [openid])).toEqual([
        { reason: 'purchase', delta: 10 },
      ]);
      expect(await q('SELECT COUNT(*) AS n FROM payment_records WHERE order_no = ?', [orderNo])).toEqual([{ n: 1 }]);
    });

    it('a lifetime membership sets the member flags and grants the bonus; bought again it is applied and flagged', async () => {
      const openid = await buyer('oMem');
      for (const n of [1, 2]) {
        const orderNo = uid(`ORDM${n}`);
        await insertOrder(subject().ds, { orderNo, openid, type: 'member', amountFen: 2990 });
        expect(
          await api().applyPayment({
            order_no: orderNo,
            status: 'paid',
            transaction_id: uid('4200'),
            total_fen: 2990,
            payer_openid: openid,
          }),
        ).toMatchObject({
          applied: true,
        });
      }
      expect(await q('SELECT is_member, member_lifetime, remaining_credits FROM wechat_users WHERE openid = ?', [openid])).toEqual([
        { is_member: 1, member_lifetime: 1, remaining_credits: 30 },
      ]);
      expect(
        await q(
          "SELECT kind FROM payment_anomalies WHERE kind = 'duplicate_membership' AND order_no LIKE 'ORDM2%' AND detail LIKE '%lifetime%'",
        ),
      ).not.toEqual([]);
    });

    it('amount or payer mismatch → 409 with an anomaly and nothing credited; unknown order → 404', async () => {
      const openid = await buyer('oMis');
      const orderNo = uid('ORDX');
      await insertOrder(subject().ds, { orderNo, openid, type: 'credits', amountFen: 990, credits: 10 });
      await expectDomainError(
        api().applyPayment({ order_no: orderNo, status: 'paid', transaction_id: uid('t'), total_fen: 1, payer_openid: openid }),
        409,
        '金额与订单不符',
      );
      await expectDomainError(
        api().applyPayment({ order_no: orderNo, status: 'paid', transaction_id: uid('t'), total_fen: 990, payer_openid: uid('oOther') }),
        409,
        '付款人与订单不符',
      );
      await expectDomainError(
        api().applyPayment({ order_no: uid('ORDNONE'), status: 'paid', transaction_id: uid('t'), total_fen: 990 }),
        404,
        '订单不存在',
      );
      expect(await q('SELECT status FROM payment_orders WHERE order_no = ?', [orderNo])).toEqual([{ status: 'pending' }]);
      expect(await q('SELECT remaining_credits FROM wechat_users WHERE openid = ?', [openid])).toEqual([{ remaining_credits: 10 }]);
      expect((await q('SELECT kind FROM payment_anomalies WHERE order_no = ? ORDER BY id', [orderNo])).map((r) => r.kind)).toEqual([
        'amount_mismatch',
        'payer_mismatch',
      ]);
    });

    it('paid wins over closed (with a paid_after_close anomaly) but never over refunded; failed/closed only move pending', async () => {
      const openid = await buyer('oWin');
      const closed = uid('ORDCL');
      const refunded = uid('ORDRF');
      const pending = uid('ORDPN');
      await insertOrder(subject().ds, { orderNo: closed, openid, type: 'credits', amountFen: 990, credits: 10, status: 'closed' });
      await insertOrder(subject().ds, { orderNo: refunded, openid, type: 'credits', amountFen: 990, credits: 10, status: 'refunded' });
      await insertOrder(subject().ds, { orderNo: pending, openid, type: 'credits', amountFen: 990, credits: 10 });
      expect(await api().applyPayment({ order_no: closed, status: 'paid', transaction_id: uid('t'), total_fen: 990 })).toMatchObject({
        applied: true,
        order_status: 'paid',
      });
      expect(await q('SELECT kind FROM payment_anomalies WHERE order_no = ?', [closed])).toEqual([{ kind: 'paid_after_close' }]);
      expect(await api().applyPayment({ order_no: refunded, status: 'paid', transaction_id: uid('t'), total_fen: 990 })).toMatchObject({
        applied: false,
        order_status: 'refunded',
      });
      expect(await api().applyPayment({ order_no: closed, status: 'failed' })).toMatchObject({ applied: false, order_status: 'paid' });
      expect(await api().applyPayment({ order_no: pending, status: 'failed' })).toMatchObject({ applied: true, order_status: 'failed' });
      expect(await api().applyPayment({ order_no: pending, status: 'closed' })).toMatchObject({ applied: false, order_status: 'failed' });
      expect(await q('SELECT remaining_credits FROM wechat_users WHERE openid = ?', [openid])).toEqual([{ remaining_credits: 20 }]);
    });
  });

  describe('applyRefund', () => {
    async function paidOrder(prefix: string, amountFen = 990, credits = 10) {
      const openid = uid(prefix);
      await api().createOrUpdateUser({ openid, source: 'subscribe' });
      const orderNo = uid('ORDR');
      await insertOrder(subject().ds, { orderNo, openid, type: 'credits', amountFen, credits });
      await api().applyPayment({
        order_no: orderNo,
        status: 'paid',
        transaction_id: uid('4200'),
        total_fen: amountFen,
        payer_openid: openid,
      });
      return { openid, orderNo };
    }

    it('a successful refund is applied exactly once: credits taken back, the order refunded', async () => {
      const { openid, orderNo } = await paidOrder('oRf');
      const refundNo = uid('RF');
      await insertRefund(subject().ds, { refundNo, orderNo, openid, amountFen: 990, totalFen: 990 });
      const req = {
        refund_no: refundNo,
        order_no: orderNo,
        status: 'success' as const,
        refund_fen: 990,
        total_fen: 990,
        wx_refund_id: uid('50'),
        success_time: new Date().toISOString(),
        raw: '{}',
      };
      expect(await api().applyRefund(req)).toEqual({ success: true, applied: true, refund_status: 'success', order_status: 'refunded' });
      expect(await api().applyRefund(req)).toEqual({ success: true, applied: false, refund_status: 'success', order_status: 'refunded' });
      expect(await q('SELECT remaining_credits, total_credits FROM wechat_users WHERE openid = ?', [openid])).toEqual([
        { remaining_credits: 10, total_credits: 10 },
      ]);
      expect(await q("SELECT delta FROM credit_ledger WHERE reason = 'payment_refund' AND ref = ?", [refundNo])).toEqual([{ delta: -10 }]);
      // A refunded order never becomes paid again.
      expect(
        await api().applyPayment({ order_no: orderNo, status: 'paid', transaction_id: uid('4200'), total_fen: 990, payer_openid: openid }),
      ).toMatchObject({
        applied: false,
        order_status: 'refunded',
      });
    });

    it('closed and abnormal results change no credits and keep the order paid; unknown → 404, mismatched → 409', async () => {
      const { openid, orderNo } = await paidOrder('oRfC');
      const [closed, abnormal] = [uid('RFC'), uid('RFA')];
      await insertRefund(subject().ds, { refundNo: closed, orderNo, openid, amountFen: 500, totalFen: 990 });
      await insertRefund(subject().ds, { refundNo: abnormal, orderNo, openid, amountFen: 490, totalFen: 990 });
      expect(await api().applyRefund({ refund_no: closed, order_no: orderNo, status: 'closed', refund_fen: 500, total_fen: 990 })).toEqual({
        success: true,
        applied: true,
        refund_status: 'closed',
        order_status: 'paid',
      });
      expect(
        await api().applyRefund({ refund_no: abnormal, order_no: orderNo, status: 'abnormal', refund_fen: 490, total_fen: 990 }),
      ).toMatchObject({
        applied: true,
        refund_status: 'abnormal',
      });
      expect(await q('SELECT remaining_credits FROM wechat_users WHERE openid = ?', [openid])).toEqual([{ remaining_credits: 20 }]);
      await expectDomainError(
        api().applyRefund({ refund_no: uid('RFNONE'), order_no: orderNo, status: 'success', refund_fen: 990, total_fen: 990 }),
        404,
        '退款单不存在',
      );
      await expectDomainError(
        api().applyRefund({ refund_no: abnormal, order_no: orderNo, status: 'success', refund_fen: 1, total_fen: 990 }),
        409,
        '退款金额与退款单不符',
      );
      await expectDomainError(
        api().applyRefund({ refund_no: abnormal, order_no: uid('ORDX'), status: 'success', refund_fen: 490, total_fen: 990 }),
        409,
        '退款金额与退款单不符',
      );
      expect((await q('SELECT kind FROM payment_anomalies WHERE order_no = ? ORDER BY id', [orderNo])).map((r) => r.kind)).toEqual([
        'refund_closed',
        'refund_abnormal',
        'unknown_refund',
        'refund_mismatch',
        'refund_mismatch',
      ]);
      // An abnormal refund can still succeed later (finished in the console): 490 of 990 fen → ceil(10 × 490 / 990) = 5 credits.
      expect(
        await api().applyRefund({ refund_no: abnormal, order_no: orderNo, status: 'success', refund_fen: 490, total_fen: 990 }),
      ).toMatchObject({
        applied: true,
        refund_status: 'success',
        order_status: 'paid',
      });
      expect(await q('SELECT remaining_credits FROM wechat_users WHERE openid = ?', [openid])).toEqual([{ remaining_credits: 15 }]);
    });
  });
}
