'use strict';
/**
 * What the two baseline servers (bench/baseline-express.js, bench/baseline-node.js) do per
 * request, written once so both run identical work: the same signature checks as the app
 * (sha1 server signature + timestamp skew, v2 MD5 sign, appid/mch_id, amount and payer), a minimal
 * XML reader (DOCTYPE/ENTITY refused), and the same SQL statements the app sends through
 * TypeORM/mysql2 — same transactions (READ COMMITTED), same order, same conditional updates.
 *
 * A handler returns { status, type, body }; the HTTP layer only moves bytes.
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
});
pool.on('connection', (conn) => conn.query("SET time_zone = '+00:00'"));
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
    await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
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

/** The credit ledger step of the app's LedgerService.apply for a grant of `n`. */
async function ledgerGrant(conn, openid, reason, ref, n) {
  const [ins] = await conn.query('INSERT IGNORE INTO credit_ledger (openid, delta, balance_after, reason, ref, created_at) VALUES (?, ?, 0, ?, ?, ?)', [
    openid,
    n,
    reason,
    ref,
    new Date(),
  ]);
  if (ins.affectedRows !== 1) return false;
  const [up] = await conn.query('UPDATE wechat_users SET remaining_credits = remaining_credits + ?, total_credits = total_credits + ?, updated_at = ? WHERE openid = ?', [
    n,
    n,
    new Date(),
    openid,
  ]);
  if (up.affectedRows !== 1) throw new Error('insufficient');
  const [[row]] = await conn.query('SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [openid]);
  await conn.query('UPDATE credit_ledger SET balance_after = ? WHERE id = ?', [Number(row.r), ins.insertId]);
  return true;
}

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
    // Replay guard: (timestamp, nonce) claimed with the body's hash, in its own transaction.
    const sha = createHash('sha256').update(body).digest('hex');
    if (Date.now() - lastPurge > 60_000) {
      lastPurge = Date.now();
      await db.query('DELETE FROM wechat_callback_nonces WHERE created_at < ?', [new Date(Date.now() - 15 * 60_000)]);
    }
    const fresh = await tx(async (conn) => {
      const [ins] = await conn.query('INSERT IGNORE INTO wechat_callback_nonces (timestamp, nonce, body_sha256, created_at) VALUES (?, ?, ?, ?)', [
        Number(query.timestamp),
        query.nonce,
        sha,
        new Date(),
      ]);
      if (ins.affectedRows === 1) return true;
      const [[seen]] = await conn.query('SELECT body_sha256 FROM wechat_callback_nonces WHERE timestamp = ? AND nonce = ?', [Number(query.timestamp), query.nonce]);
      return !seen || seen.body_sha256 === sha;
    });
    if (!fresh) return forbidden();

    // Upsert the user, grant the initial credits once, read the summary: one transaction.
    const eventTime = /^\d{1,12}$/.test(fields.CreateTime || '') ? new Date(Number(fields.CreateTime) * 1000) : new Date();
    const granted = await tx(async (conn) => {
      const now = new Date();
      const [ins] = await conn.query(
        `INSERT IGNORE INTO wechat_users (openid, is_member, member_lifetime, total_paid_amount, total_credits, used_credits,
           remaining_credits, subscribed, subscribe_time, last_active_time, created_at, updated_at)
         VALUES (?, 0, 0, 0, 0, 0, 0, ?, ?, ?, ?, ?)`,
        [openid, true, eventTime, now, now, now],
      );
      if (ins.affectedRows !== 1) {
        await conn.query(
          `UPDATE wechat_users SET subscribed = 1, unsubscribed_at = NULL, last_active_time = ?, updated_at = ?,
             subscribe_time = CASE WHEN ? = 1 AND subscribed = 0 THEN ? ELSE subscribe_time END
           WHERE openid = ?`,
          [now, now, 1, eventTime, openid],
        );
      }
      const [opening] = await conn.query("SELECT 1 AS x FROM credit_ledger WHERE reason = 'opening_balance' AND ref = ?", [openid]);
      const g = opening.length ? false : await ledgerGrant(conn, openid, 'signup_bonus', openid, INITIAL_CREDITS);
      await conn.query('SELECT openid, remaining_credits, is_member, member_lifetime, member_expire_at, subscribed FROM wechat_users WHERE openid = ? LIMIT 1', [openid]);
      return g;
    });
    const now = Math.floor(Date.now() / 1000);
    const reply =
      `<xml><ToUserName>${cdata(openid)}</ToUserName><FromUserName>${cdata(fields.ToUserName || '')}</FromUserName>` +
      `<CreateTime>${now}</CreateTime><MsgType>${cdata('text')}</MsgType><Content>${cdata(granted ? WELCOME : WELCOME_BACK)}</Content></xml>`;
    return { status: 200, type: XML_TYPE, body: reply };
  } catch {
    return json(503, { detail: '服务暂不可用' });
  }
}

// ------------------------------------------------------------------ POST notify (v2)

const V2_SUCCESS = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';
const v2Fail = (reason) => ({ status: 200, type: XML_TYPE, body: `<xml><return_code><![CDATA[FAIL]]></return_code><return_msg>${cdata(reason)}</return_msg></xml>` });

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

async function notify(body) {
  if (!body || body.length === 0 || body.length > 65536) return v2Fail('SIGN_ERROR');
  const raw = body.toString('utf8');
  const f = readXml(raw);
  if (!f) return v2Fail('SIGN_ERROR');
  if (f.return_code !== 'SUCCESS' || !v2SignOk(f) || f.appid !== APPID || f.mch_id !== MCHID) return v2Fail('SIGN_ERROR');
  const totalFen = /^\d{1,10}$/.test(f.total_fee || '') ? Number(f.total_fee) : null;
  if (!f.out_trade_no || !f.transaction_id || totalFen === null || !f.openid) return v2Fail('SIGN_ERROR');
  try {
    const [[order]] = await db.query('SELECT * FROM payment_orders WHERE order_no = ?', [f.out_trade_no]);
    if (!order) return v2Fail('ORDER_MISMATCH');
    const amountFen = order.amount_fen ?? Math.round(Number(order.amount) * 100);
    if (totalFen !== amountFen || f.openid !== order.openid) return v2Fail('ORDER_MISMATCH');
    const paidAt = parseTimeEnd(f.time_end) || new Date();
    await tx(async (conn) => {
      const now = new Date();
      await conn.query('SELECT status FROM payment_orders WHERE order_no = ?', [order.order_no]);
      const [gate] = await conn.query(
        `UPDATE payment_orders SET status = 'paid', paid_at = ?, wx_transaction_id = ?, wx_payment_no = ?, amount_fen = ?
         WHERE order_no = ? AND status IN ('pending', 'failed', 'closed')`,
        [paidAt, f.transaction_id, f.transaction_id, amountFen, order.order_no],
      );
      if (gate.affectedRows !== 1) {
        await conn.query('SELECT status FROM payment_orders WHERE order_no = ?', [order.order_no]);
        return;
      }
      await conn.query(
        `INSERT INTO payment_records (order_no, openid, transaction_id, amount, payment_method, payment_time, notify_data, created_at)
         VALUES (?, ?, ?, ?, 'wechat_pay', ?, ?, ?)`,
        [order.order_no, order.openid, f.transaction_id, fenToYuan(amountFen), paidAt, raw, now],
      );
      await conn.query(
        `INSERT IGNORE INTO wechat_users (openid, is_member, member_lifetime, total_paid_amount, total_credits, used_credits, remaining_credits,
           subscribed, last_active_time, created_at, updated_at) VALUES (?, 0, 0, 0, 0, 0, 0, 0, ?, ?, ?)`,
        [order.openid, now, now, now],
      );
      await ledgerGrant(conn, order.openid, 'purchase', order.order_no, order.credits_amount || 0);
      await conn.query('UPDATE wechat_users SET total_paid_amount = ROUND(total_paid_amount + ?, 2), updated_at = ? WHERE openid = ?', [
        fenToYuan(amountFen),
        now,
        order.openid,
      ]);
    });
    return { status: 200, type: XML_TYPE, body: V2_SUCCESS };
  } catch {
    return v2Fail('SYSTEM_ERROR');
  }
}

// ------------------------------------------------------------------ GET user/credits

async function credits(query) {
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
