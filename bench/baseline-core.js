'use strict';
/**
 * What the two baseline servers (bench/baseline-express.js, bench/baseline-node.js) do per
 * request, written once so both run identical work: the same signature checks as the app
 * (sha1 server signature + timestamp skew, v2 MD5 sign, appid/mch_id, amount and payer), a minimal
 * XML reader (DOCTYPE/ENTITY refused), and the same SQL statements the app sends through
 * TypeORM/mysql2 — same transactions (READ COMMITTED), same order, same conditional updates.
 *
 * A handler returns { status, type, body, headers? }; the HTTP layer only moves bytes.
 */
const { createHash, timingSafeEqual } = require('node:crypto');
const mysql2 = require('mysql2');

const TOKEN = process.env.WECHAT_TOKEN;
const APPID = process.env.WECHAT_APPID;
const MCHID = process.env.WECHAT_PAY_MCHID;
const PAY_KEY = process.env.WECHAT_PAY_API_KEY;
const MAX_SKEW = 300;
const INITIAL_CREDITS = 10;
const WELCOME = '欢迎关注！您已获得10张图片编辑额度。';
const WELCOME_BACK = '欢迎回来！';

const pool = mysql2.createPool({
  host: process.env.MYSQL_HOST || '127.0.0.1',
  port: Number(process.env.MYSQL_PORT || 3306),
  user: process.env.MYSQL_USER || 'root',
  password: process.env.MYSQL_PASSWORD || '',
  database: process.env.MYSQL_DATABASE,
  connectionLimit: Number(process.env.MYSQL_POOL_SIZE || 10),
  charset: 'utf8mb4_unicode_ci',
  timezone: 'Z',
  supportBigNumbers: true,
  enableKeepAlive: true,
  // The app's statements go through mysql2's callback API (src/database/sql.ts), which records no
  // stack per query; the promise wrapper's default (`trace`) captures one for every statement and
  // cost node:http 15 % of its CPU per notification (seven statements): work the app does not do.
  trace: false,
});
// As the app's pool (src/database/data-source-options.ts): UTC and READ COMMITTED set once per
// connection, so a transaction is START TRANSACTION … COMMIT with no SET TRANSACTION before it.
pool.on('connection', (conn) => {
  conn.query("SET time_zone = '+00:00'");
  conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
});
const db = pool.promise();

const XML_TYPE = 'application/xml; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const json = (status, obj) => ({ status, type: JSON_TYPE, body: JSON.stringify(obj) });
const forbidden = () => json(403, { detail: '验证失败' });

function safeEqual(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

function signatureOk(q) {
  const { signature, timestamp, nonce } = q;
  if (typeof signature !== 'string' || typeof timestamp !== 'string' || typeof nonce !== 'string') return false;
  if (!/^[0-9]{1,15}$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > MAX_SKEW) return false;
  const expected = createHash('sha1').update([TOKEN, timestamp, nonce].sort().join(''), 'utf8').digest('hex');
  return safeEqual(expected, signature);
}

/** Flat `<xml><k>v</k>…</xml>` → {k: v}; CDATA or text. null for anything else (incl. DOCTYPE). */
function readXml(text) {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) return null;
  const m = /^\s*<xml>([\s\S]*)<\/xml>\s*$/.exec(text);
  if (!m) return null;
  const out = {};
  const re = /<([A-Za-z_][\w.-]*)>(?:<!\[CDATA\[([\s\S]*?)\]\]>|([^<]*))<\/\1>/g;
  let f;
  while ((f = re.exec(m[1]))) out[f[1]] = f[2] !== undefined ? f[2] : f[3].trim();
  return out;
}

function cdata(v) {
  return `<![CDATA[${String(v).split(']]>').join(']]]]><![CDATA[>')}]]>`;
}

async function tx(work) {
  const conn = await db.getConnection();
  try {
    await conn.query('START TRANSACTION');
    try {
      const r = await work(conn);
      await conn.query('COMMIT');
      return r;
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    conn.release();
  }
}

// ------------------------------------------------------------------ GET verify

function verify(query) {
  if (!signatureOk(query) || typeof query.echostr !== 'string' || !query.echostr) return forbidden();
  return { status: 200, type: TEXT_TYPE, body: query.echostr };
}

// ------------------------------------------------------------------ POST push

let lastPurge = 0;

/**
 * The app's LedgerService.apply for a grant of `n` (src/user/ledger.service.ts): move the balance
 * with one update (it takes the row lock), then the entry unless (reason, ref) exists, its
 * balance_after read from the row just updated; a replayed entry gives the balance back.
 */
async function ledgerGrant(conn, openid, reason, ref, n, paidYuan) {
  const now = new Date();
  const paid = paidYuan === undefined ? '' : ', total_paid_amount = ROUND(total_paid_amount + ?, 2)';
  const paidParam = paidYuan === undefined ? [] : [paidYuan];
  const [up] = await conn.query(
    `UPDATE wechat_users SET remaining_credits = remaining_credits + ?, total_credits = total_credits + ?${paid}, updated_at = ? WHERE openid = ?`,
    [n, n, ...paidParam, now, openid],
  );
  if (up.affectedRows !== 1) throw new Error('no such user');
  const [ins] = await conn.query(
    `INSERT IGNORE INTO credit_ledger (openid, delta, balance_after, reason, ref, created_at)
       SELECT openid, ?, remaining_credits, ?, ?, ? FROM wechat_users WHERE openid = ?`,
    [n, reason, ref, now, openid],
  );
  if (ins.affectedRows === 1) return true;
  const undo = paidYuan === undefined ? '' : ', total_paid_amount = ROUND(total_paid_amount - ?, 2)';
  await conn.query(
    `UPDATE wechat_users SET remaining_credits = remaining_credits - ?, total_credits = total_credits - ?${undo}, updated_at = ? WHERE openid = ? AND remaining_credits >= ? AND total_credits >= ?`,
    [n, n, ...paidParam, now, openid, n, n],
  );
  return false;
}

const SUMMARY =
  'SELECT openid, remaining_credits, is_member, member_lifetime, member_expire_at, subscribed FROM wechat_users WHERE openid = ? LIMIT 1';

/** The app's UserService.upsertIn for a subscribe: update first, insert a new follower with its initial credits. */
async function subscribe(conn, openid, eventTime) {
  const now = new Date();
  const touch = () =>
    conn.query(
      `UPDATE wechat_users SET subscribed = 1, unsubscribed_at = NULL, last_active_time = ?, updated_at = ?,
         subscribe_time = CASE WHEN ? = 1 AND subscribed = 0 THEN ? ELSE subscribe_time END
       WHERE openid = ?`,
      [now, now, 1, eventTime, openid],
    );
  if ((await touch())[0].affectedRows === 1) {
    await conn.query(SUMMARY, [openid]);
    return false;
  }
  const [ins] = await conn.query(
    `INSERT IGNORE INTO wechat_users (openid, is_member, member_lifetime, total_paid_amount, total_credits, used_credits,
       remaining_credits, subscribed, subscribe_time, last_active_time, created_at, updated_at)
     VALUES (?, 0, 0, 0, ?, 0, ?, ?, ?, ?, ?, ?)`,
    [openid, INITIAL_CREDITS, INITIAL_CREDITS, true, eventTime, now, now, now],
  );
  if (ins.affectedRows !== 1) {
    await touch(); // a concurrent first event inserted the row meanwhile
    await conn.query(SUMMARY, [openid]);
    return false;
  }
  // The row is born with its credits; the entry in the same transaction (LedgerService.recordBirthGrant).
  const [entry] = await conn.query(
    'INSERT IGNORE INTO credit_ledger (openid, delta, balance_after, reason, ref, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    [openid, INITIAL_CREDITS, INITIAL_CREDITS, 'signup_bonus', openid, now],
  );
  if (entry.affectedRows !== 1) {
    await conn.query(
      'UPDATE wechat_users SET remaining_credits = remaining_credits - ?, total_credits = total_credits - ?, updated_at = ? WHERE openid = ? AND remaining_credits >= ? AND total_credits >= ?',
      [INITIAL_CREDITS, INITIAL_CREDITS, now, openid, INITIAL_CREDITS, INITIAL_CREDITS],
    );
    return false;
  }
  return true;
}

class Replay extends Error {}

async function push(query, body) {
  if (!signatureOk(query)) return forbidden();
  if (!body || body.length === 0) return json(400, { detail: 'body: empty' });
  if (body.length > 65536) return json(413, { detail: '请求体过大' });
  const fields = readXml(body.toString('utf8'));
  if (!fields) return json(400, { detail: 'body: not well-formed XML' });
  const openid = fields.FromUserName;
  if (!openid || !/^[A-Za-z0-9_-]{1,64}$/.test(openid)) return json(400, { detail: 'FromUserName: required' });
  if (!fields.MsgType) return json(400, { detail: 'MsgType: required' });
  if (fields.MsgType !== 'event' || fields.Event !== 'subscribe') return { status: 200, type: TEXT_TYPE, body: 'success' };

  try {
    // The app's InternalApi.applyPush: the replay-guard purge (once a minute, outside), then one
    // transaction for the (timestamp, nonce) claim with the body's hash and the user event.
    const sha = createHash('sha256').update(body).digest('hex');
    if (Date.now() - lastPurge > 60_000) {
      lastPurge = Date.now();
      await db.query('DELETE FROM wechat_callback_nonces WHERE created_at < ?', [new Date(Date.now() - (2 * MAX_SKEW + 60) * 1000)]);
    }
    const eventTime = /^\d{1,12}$/.test(fields.CreateTime || '') ? new Date(Number(fields.CreateTime) * 1000) : new Date();
    const granted = await tx(async (conn) => {
      const [claim] = await conn.query(
        'INSERT IGNORE INTO wechat_callback_nonces (timestamp, nonce, body_sha256, created_at) VALUES (?, ?, ?, ?)',
        [Number(query.timestamp), query.nonce, sha, new Date()],
      );
      if (claim.affectedRows !== 1) {
        const [[seen]] = await conn.query('SELECT body_sha256 FROM wechat_callback_nonces WHERE timestamp = ? AND nonce = ?', [
          Number(query.timestamp),
          query.nonce,
        ]);
        if (seen && seen.body_sha256 !== sha) throw new Replay();
      }
      return subscribe(conn, openid, eventTime);
    });
    const now = Math.floor(Date.now() / 1000);
    const reply =
      `<xml><ToUserName>${cdata(openid)}</ToUserName><FromUserName>${cdata(fields.ToUserName || '')}</FromUserName>` +
      `<CreateTime>${now}</CreateTime><MsgType>${cdata('text')}</MsgType><Content>${cdata(granted ? WELCOME : WELCOME_BACK)}</Content></xml>`;
    return { status: 200, type: XML_TYPE, body: reply };
  } catch (err) {
    if (err instanceof Replay) return json(409, { detail: '重放请求' });
    return json(503, { detail: '服务暂不可用' });
  }
}

// ------------------------------------------------------------------ POST notify (v2)

const V2_SUCCESS = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';
const v2Fail = (reason) => ({
  status: 200,
  type: XML_TYPE,
  body: `<xml><return_code><![CDATA[FAIL]]></return_code><return_msg>${cdata(reason)}</return_msg></xml>`,
});

function v2SignOk(fields) {
  if (!fields.sign) return false;
  const text =
    Object.keys(fields)
      .filter((k) => k !== 'sign' && fields[k] !== '')
      .sort()
      .map((k) => `${k}=${fields[k]}`)
      .join('&') + `&key=${PAY_KEY}`;
  return safeEqual(createHash('md5').update(text, 'utf8').digest('hex').toUpperCase(), fields.sign);
}

function fenToYuan(fen) {
  return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

function parseTimeEnd(s) {
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/.exec(s || '');
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4] - 8, +m[5], +m[6])) : undefined;
}

const PAYABLE = ['pending', 'failed', 'closed'];
/** The app's one pre-read (src/payment/orders/payment-apply.service.ts ORDER_READ): order, owner's row, transaction reuse. */
const ORDER_READ = `SELECT o.order_no, o.openid, o.order_type, o.amount, o.amount_fen, o.credits_amount, o.status,
  (SELECT 1 FROM wechat_users u WHERE u.openid = o.openid) AS has_user,
  (SELECT r.order_no FROM payment_records r WHERE r.transaction_id = ? AND r.order_no <> o.order_no LIMIT 1) AS reused_by
  FROM payment_orders o WHERE o.order_no = ?`;

async function notify(body) {
  if (!body || body.length === 0 || body.length > 65536) return v2Fail('SIGN_ERROR');
  const raw = body.toString('utf8');
  const f = readXml(raw);
  if (!f) return v2Fail('SIGN_ERROR');
  if (f.return_code !== 'SUCCESS' || !v2SignOk(f) || f.appid !== APPID || f.mch_id !== MCHID) return v2Fail('SIGN_ERROR');
  const totalFen = /^\d{1,10}$/.test(f.total_fee || '') ? Number(f.total_fee) : null;
  if (!f.out_trade_no || !f.transaction_id || totalFen === null || !f.openid) return v2Fail('SIGN_ERROR');
  try {
    const [[order]] = await db.query(ORDER_READ, [f.transaction_id, f.out_trade_no]);
    if (!order) return v2Fail('ORDER_MISMATCH');
    const amountFen = order.amount_fen ?? Math.round(Number(order.amount) * 100);
    if (totalFen !== amountFen || f.openid !== order.openid) return v2Fail('ORDER_MISMATCH');
    if (order.reused_by) return v2Fail('ORDER_MISMATCH');
    // A duplicate: statuses only leave the payable set, so the read is final — no write transaction.
    if (!PAYABLE.includes(order.status)) return { status: 200, type: XML_TYPE, body: V2_SUCCESS };
    const paidAt = parseTimeEnd(f.time_end) || new Date();
    await tx(async (conn) => {
      const now = new Date();
      // The gate names the status just read; when it moved meanwhile, read it again and decide once more.
      let before = order.status;
      for (let tries = 0; ; tries++) {
        const [gate] = await conn.query(
          `UPDATE payment_orders SET status = 'paid', paid_at = ?, wx_transaction_id = ?, wx_payment_no = ?, amount_fen = ?
           WHERE order_no = ? AND status = ?`,
          [paidAt, f.transaction_id, f.transaction_id, amountFen, order.order_no, before],
        );
        if (gate.affectedRows === 1) break;
        const [[current]] = await conn.query('SELECT status FROM payment_orders WHERE order_no = ?', [order.order_no]);
        if (!PAYABLE.includes(current.status)) return;
        if (tries >= 3) throw new Error('status kept moving');
        before = current.status;
      }
      await conn.query(
        `INSERT INTO payment_records (order_no, openid, transaction_id, amount, payment_method, payment_time, notify_data, created_at)
         VALUES (?, ?, ?, ?, 'wechat_pay', ?, ?, ?)`,
        [order.order_no, order.openid, f.transaction_id, fenToYuan(amountFen), paidAt, raw, now],
      );
      if (!order.has_user) await subscribeless(conn, order.openid, now);
      await ledgerGrant(conn, order.openid, 'purchase', order.order_no, order.credits_amount || 0, fenToYuan(amountFen));
    });
    return { status: 200, type: XML_TYPE, body: V2_SUCCESS };
  } catch {
    return v2Fail('SYSTEM_ERROR');
  }
}

/** The app's UserService.ensureIn: the row of a payer without one, born with its initial credits. */
async function subscribeless(conn, openid, now) {
  const [ins] = await conn.query(
    `INSERT IGNORE INTO wechat_users (openid, is_member, member_lifetime, total_paid_amount, total_credits, used_credits,
       remaining_credits, subscribed, subscribe_time, last_active_time, created_at, updated_at)
     VALUES (?, 0, 0, 0, ?, 0, ?, ?, ?, ?, ?, ?)`,
    [openid, INITIAL_CREDITS, INITIAL_CREDITS, false, null, now, now, now],
  );
  if (ins.affectedRows === 1) {
    await conn.query('INSERT IGNORE INTO credit_ledger (openid, delta, balance_after, reason, ref, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
      openid,
      INITIAL_CREDITS,
      INITIAL_CREDITS,
      'signup_bonus',
      openid,
      now,
    ]);
  }
}

// ------------------------------------------------------------------ GET user/credits

// The user API's per-IP limit, as the app applies it (docs/limits.md): the client's address behind
// a trusted loopback proxy (TRUST_PROXY=loopback: the right-most X-Forwarded-For entry that is not
// loopback), RATE_LIMIT_PER_MINUTE requests per address and minute, 429 beyond, the three
// X-RateLimit-*-perIp headers on every answer; and `Cache-Control: no-store` on personal data.
const LIMIT_PER_MINUTE = Number(process.env.RATE_LIMIT_PER_MINUTE || 120);
const LOOPBACK = /^(?:127\.|::1$|::ffff:127\.)/;
const windows = new Map(); // address → { hits, resetAt }
setInterval(() => {
  const now = Date.now();
  for (const [k, w] of windows) if (w.resetAt <= now) windows.delete(k);
}, 60_000).unref();

function clientAddress(remoteAddress, forwardedFor) {
  let addr = remoteAddress || '';
  if (!LOOPBACK.test(addr) || typeof forwardedFor !== 'string') return addr;
  const hops = forwardedFor.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    addr = hops[i].trim();
    if (!LOOPBACK.test(addr)) break;
  }
  return addr;
}

/** Counts the request; the headers to send, and whether it is over the limit. */
function limitPerIp(remoteAddress, forwardedFor) {
  const now = Date.now();
  const key = clientAddress(remoteAddress, forwardedFor);
  let w = windows.get(key);
  if (!w || w.resetAt <= now) windows.set(key, (w = { hits: 0, resetAt: now + 60_000 }));
  w.hits++;
  return {
    over: w.hits > LIMIT_PER_MINUTE,
    headers: {
      'Cache-Control': 'no-store',
      'X-RateLimit-Limit-perIp': String(LIMIT_PER_MINUTE),
      'X-RateLimit-Remaining-perIp': String(Math.max(0, LIMIT_PER_MINUTE - w.hits)),
      'X-RateLimit-Reset-perIp': String(Math.ceil((w.resetAt - now) / 1000)),
    },
  };
}

async function credits(query, remoteAddress, forwardedFor) {
  const limit = limitPerIp(remoteAddress, forwardedFor);
  const answer = await creditsOf(query, limit.over);
  return { ...answer, headers: limit.headers };
}

async function creditsOf(query, over) {
  if (over) return json(429, { detail: '请求过于频繁，请稍后再试' });
  const clientId = typeof query.client_id === 'string' ? query.client_id.trim() : '';
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(clientId)) return json(400, { detail: 'client_id格式错误' });
  try {
    const [[row]] = await db.query(
      `SELECT b.openid AS bound_openid, u.openid, u.subscribed, u.is_member, u.member_lifetime, u.member_expire_at, u.total_credits, u.used_credits, u.remaining_credits
         FROM wechat_qrcode_bindings b LEFT JOIN wechat_users u ON u.openid = b.openid
        WHERE b.client_id = ?`,
      [clientId],
    );
    if (!row || !row.bound_openid) return json(404, { detail: '用户未关注公众号' });
    if (!row.openid) return json(404, { detail: '用户不存在' });
    const lifetime = Number(row.member_lifetime) === 1;
    const member = Number(row.is_member) === 1 && (lifetime || (row.member_expire_at && row.member_expire_at.getTime() > Date.now()));
    return json(200, {
      success: true,
      total_credits: Number(row.total_credits),
      used_credits: Number(row.used_credits),
      remaining_credits: Number(row.remaining_credits),
      is_member: !!member,
      member_expire_at: member && !lifetime ? row.member_expire_at.toISOString() : null,
      is_followed: Number(row.subscribed) === 1,
    });
  } catch {
    return json(503, { detail: '服务暂不可用' });
  }
}

async function health() {
  try {
    await db.query('SELECT 1');
    return json(200, { status: 'healthy' });
  } catch {
    return json(503, { status: 'unhealthy' });
  }
}

module.exports = { verify, push, notify, credits, health, close: () => db.end() };
