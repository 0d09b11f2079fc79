'use strict';
/**
 * Shared by bench/run.js, bench/soak.js and the baseline servers: MySQL helpers (a fresh database,
 * schema cloned from the migrated one, seeding), WeChat signing as WeChat does it (sha1 server
 * signature, v2 MD5 sign), process helpers (spawn, wait, /proc memory) and the machine description.
 * Plain CommonJS on purpose: it runs without a build step and loads nothing of the app.
 */
const { spawn, execFileSync } = require('node:child_process');
const { createHash, randomBytes } = require('node:crypto');
const { readFileSync, existsSync } = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const mysql = require('mysql2/promise');

const ROOT = path.resolve(__dirname, '..');

const MYSQL = {
  host: process.env.BENCH_MYSQL_HOST || process.env.TEST_MYSQL_HOST || '127.0.0.1',
  port: Number(process.env.BENCH_MYSQL_PORT || process.env.TEST_MYSQL_PORT || 3306),
  user: process.env.BENCH_MYSQL_USER || process.env.TEST_MYSQL_USER || 'root',
  password: process.env.BENCH_MYSQL_PASSWORD || process.env.TEST_MYSQL_PASSWORD || '',
};

/** Credentials the bench configures explicitly (NODE_ENV=test: no sandbox defaults, no production refusals). */
const KEYS = {
  token: 'benchtoken2024',
  appId: 'wxbench000000000001',
  secret: 'benchsecret0000000000000000000001',
  encodingAesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  mchId: '1900000109',
  payKey: 'benchpayv2key000000000000000001x',
  sessionSecret: 'bench-session-secret-0123456789abcdef0123',
  adminKey: 'bench-admin-key-0123456789abcdef',
};

// ---------------------------------------------------------------- args

/** `--duration 5 --workers 2 --only push,notify` → { duration: '5', workers: '2', only: 'push,notify' }. */
function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    const k = eq < 0 ? a.slice(2) : a.slice(2, eq);
    const inline = eq < 0 ? undefined : a.slice(eq + 1);
    if (inline !== undefined) out[k] = inline;
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) out[k] = argv[++i];
    else out[k] = 'true';
  }
  return out;
}

// ---------------------------------------------------------------- WeChat signing

const sha1 = (s) => createHash('sha1').update(s, 'utf8').digest('hex');
const nonce = (n = 16) => randomBytes(n).toString('hex').slice(0, n);

/** WeChat's server signature: sha1 of the sorted [token, timestamp, nonce] concatenated. */
function serverSignature(token, timestamp, n) {
  return sha1([token, String(timestamp), n].sort().join(''));
}

function verifyQuery(echostr = '4375120948345356249') {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const n = nonce(10);
  return new URLSearchParams({ signature: serverSignature(KEYS.token, timestamp, n), timestamp, nonce: n, echostr }).toString();
}

const VERIFY_PATH = '/api/v1/auth/wechat/verify';
const NOTIFY_PATH = '/api/v1/payment/notify';

/** A plaintext-mode push as WeChat sends it: signed query, XML body. */
function signedPush(xml) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const n = nonce(12);
  const q = new URLSearchParams({ signature: serverSignature(KEYS.token, timestamp, n), timestamp, nonce: n, openid: 'x' });
  return { path: `${VERIFY_PATH}?${q}`, body: xml };
}

function cdata(v) {
  return `<![CDATA[${String(v).split(']]>').join(']]]]><![CDATA[>')}]]>`;
}

function buildXml(fields) {
  let out = '<xml>';
  for (const [k, v] of Object.entries(fields)) out += typeof v === 'number' ? `<${k}>${v}</${k}>` : `<${k}>${cdata(v)}</${k}>`;
  return out + '</xml>';
}

function subscribeXml(openid, eventKey) {
  const f = {
    ToUserName: 'gh_0123456789ab',
    FromUserName: openid,
    CreateTime: Math.floor(Date.now() / 1000),
    MsgType: 'event',
    Event: 'subscribe',
  };
  if (eventKey !== undefined) f.EventKey = eventKey;
  return buildXml(f);
}

/** v2 sign: non-empty fields except sign, ASCII order, k=v&…&key=<API key>, MD5 upper-hex. */
function v2Sign(fields, key) {
  const text =
    Object.keys(fields)
      .filter((k) => k !== 'sign' && fields[k] !== undefined && fields[k] !== null && fields[k] !== '')
      .sort()
      .map((k) => `${k}=${fields[k]}`)
      .join('&') + `&key=${key}`;
  return createHash('md5').update(text, 'utf8').digest('hex').toUpperCase();
}

function shanghaiCompact(d) {
  return new Date(d.getTime() + 8 * 3600_000).toISOString().slice(0, 19).replace(/[-T:]/g, '');
}

/** A v2 "paid" notification for an order, signed with the merchant key. */
function v2PaidXml(o, extra = {}) {
  const f = {
    appid: KEYS.appId,
    mch_id: KEYS.mchId,
    nonce_str: nonce(16),
    result_code: 'SUCCESS',
    return_code: 'SUCCESS',
    openid: o.openid,
    out_trade_no: o.orderNo,
    total_fee: String(o.amountFen),
    cash_fee: String(o.amountFen),
    fee_type: 'CNY',
    trade_type: 'JSAPI',
    bank_type: 'OTHERS',
    transaction_id: o.transactionId || `4200${o.orderNo.slice(-20)}`,
    time_end: shanghaiCompact(new Date()),
    ...extra,
  };
  f.sign = v2Sign(f, KEYS.payKey);
  return buildXml(f);
}

// ---------------------------------------------------------------- MySQL

async function admin(database) {
  const c = await mysql.createConnection({ ...MYSQL, database, timezone: 'Z', multipleStatements: false, connectTimeout: 5000 });
  await c.query("SET time_zone = '+00:00'");
  return c;
}

async function createDatabase(prefix) {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const c = await admin();
  try {
    await c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await c.end();
  }
  return name;
}

async function dropDatabase(name) {
  const c = await admin();
  try {
    await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await c.end();
  }
}

/** Copies every table definition of `from` (migrated by the app) into the empty database `to`. */
async function cloneSchema(from, to) {
  const c = await admin();
  try {
    const [tables] = await c.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ?', [from]);
    for (const { t } of tables) await c.query(`CREATE TABLE \`${to}\`.\`${t}\` LIKE \`${from}\`.\`${t}\``);
  } finally {
    await c.end();
  }
}

async function mariadbVersion() {
  try {
    const c = await admin();
    const [[row]] = await c.query('SELECT VERSION() AS v');
    await c.end();
    return row.v;
  } catch {
    return 'unreachable';
  }
}

const CREDITS_PACKAGE = { credits: 10, amountFen: 990 };

/**
 * `count` users (0 credits, no ledger entries: the invariants hold) each with one pending credits
 * order, inserted in multi-row batches. Returns the orders.
 */
async function seedPendingOrders(database, count, tag) {
  const c = await admin(database);
  const orders = [];
  try {
    const batch = 1000;
    for (let start = 0; start < count; start += batch) {
      const users = [];
      const rows = [];
      const now = new Date();
      const expire = new Date(Date.now() + 6 * 3600_000);
      for (let i = start; i < Math.min(count, start + batch); i++) {
        const openid = `oB${tag}${String(i).padStart(9, '0')}`;
        const orderNo = `ORD${tag}${String(i).padStart(12, '0')}`;
        orders.push({ orderNo, openid, amountFen: CREDITS_PACKAGE.amountFen, credits: CREDITS_PACKAGE.credits });
        users.push([openid, 0, 0, 0, 0, 0, 0, 1, now, now, now, now]);
        rows.push([orderNo, openid, 'credits', '9.90', CREDITS_PACKAGE.amountFen, CREDITS_PACKAGE.credits, 'pending', 'v2', now, expire]);
      }
      await c.query(
        `INSERT INTO wechat_users (openid, is_member, member_lifetime, total_paid_amount, total_credits, used_credits, remaining_credits,
           subscribed, subscribe_time, last_active_time, created_at, updated_at) VALUES ?`,
        [users],
      );
      await c.query(
        'INSERT INTO payment_orders (order_no, openid, order_type, amount, amount_fen, credits_amount, status, pay_version, created_at, expire_at) VALUES ?',
        [rows],
      );
    }
  } finally {
    await c.end();
  }
  return orders;
}

/** A subscribed user with a signup bonus (ledger-consistent) bound to a desktop client id. */
async function seedBoundUser(database, tag) {
  const openid = `oBound${tag}00000000000000`.slice(0, 28);
  const clientId = `PC_bench_${tag}`;
  const c = await admin(database);
  try {
    const now = new Date();
    await c.query(
      `INSERT INTO wechat_users (openid, is_member, member_lifetime, total_paid_amount, total_credits, used_credits, remaining_credits,
         subscribed, subscribe_time, last_active_time, created_at, updated_at) VALUES (?, 0, 0, 0, 10, 0, 10, 1, ?, ?, ?, ?)`,
      [openid, now, now, now, now],
    );
    await c.query(
      "INSERT INTO credit_ledger (openid, delta, balance_after, reason, ref, created_at) VALUES (?, 10, 10, 'signup_bonus', ?, ?)",
      [openid, openid, now],
    );
    await c.query(
      "INSERT INTO wechat_qrcode_bindings (client_id, scene_id, openid, status, legacy_scene, created_at, completed_at) VALUES (?, 0, ?, 'completed', 0, ?, ?)",
      [clientId, openid, now, now],
    );
  } finally {
    await c.end();
  }
  return { openid, clientId };
}

/** docs/data.md invariants, the same queries as test/setup/invariants.ts. */
async function invariantViolations(database) {
  const c = await admin(database);
  try {
    const out = [];
    const [users] = await c.query(
      `SELECT u.openid AS openid, u.total_credits AS total, u.used_credits AS used, u.remaining_credits AS remaining,
              (SELECT COALESCE(SUM(l.delta), 0) FROM credit_ledger l WHERE l.openid = u.openid) AS ledger_sum
         FROM wechat_users u`,
    );
    for (const u of users) {
      const [total, used, remaining, sum] = [u.total, u.used, u.remaining, u.ledger_sum].map(Number);
      if (total !== used + remaining) out.push(`${u.openid}: total ${total} != used ${used} + remaining ${remaining}`);
      if (remaining < 0) out.push(`${u.openid}: remaining < 0`);
      if (remaining !== sum) out.push(`${u.openid}: remaining ${remaining} != ledger sum ${sum}`);
    }
    const [orders] = await c.query(
      `SELECT o.order_no AS order_no, o.amount_fen AS amount_fen,
              (SELECT COUNT(*) FROM payment_records r WHERE r.order_no = o.order_no) AS records,
              (SELECT MAX(ROUND(r.amount * 100)) FROM payment_records r WHERE r.order_no = o.order_no) AS paid_fen
         FROM payment_orders o WHERE o.status = 'paid'`,
    );
    for (const r of orders) {
      if (Number(r.records) !== 1) out.push(`${r.order_no}: ${r.records} payment records`);
      else if (r.amount_fen !== null && Number(r.paid_fen) !== Number(r.amount_fen))
        out.push(`${r.order_no}: paid ${r.paid_fen} != ${r.amount_fen}`);
    }
    return out;
  } finally {
    await c.end();
  }
}

/** How often an order was credited: payment records, purchase ledger entries, balance. */
async function creditedTimes(database, order) {
  const c = await admin(database);
  try {
    const [[r]] = await c.query('SELECT COUNT(*) AS n FROM payment_records WHERE order_no = ?', [order.orderNo]);
    const [[l]] = await c.query("SELECT COUNT(*) AS n FROM credit_ledger WHERE reason = 'purchase' AND ref = ?", [order.orderNo]);
    const [[u]] = await c.query('SELECT remaining_credits AS r FROM wechat_users WHERE openid = ?', [order.openid]);
    const [[o]] = await c.query('SELECT status FROM payment_orders WHERE order_no = ?', [order.orderNo]);
    return { records: Number(r.n), ledger: Number(l.n), remaining: Number(u.r), status: o.status };
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------- processes

async function freePort() {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** Spawns `node <args>` with `env` (nothing inherited but PATH/HOME) and collects its output. */
function spawnNode(args, env, opts = {}) {
  const proc = spawn(process.execPath, args, {
    cwd: opts.cwd || ROOT,
    env: { PATH: process.env.PATH || '', HOME: process.env.HOME || '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d) => {
    out += d;
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  return {
    proc,
    pid: proc.pid,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM', graceMs = 12_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}

/** Polls `url` until it answers `status` (default 200). */
async function waitFor(url, child, { status = 200, timeoutMs = 60_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.proc.exitCode !== null) throw new Error(`process exited (${child.proc.exitCode}):\n${child.output()}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === status) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer ${status} in time:\n${child ? child.output() : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Child pids (cluster workers) of a process, through /proc. */
function childPids(pid) {
  const out = [];
  try {
    for (const t of require('node:fs').readdirSync(`/proc/${pid}/task`)) {
      const f = `/proc/${pid}/task/${t}/children`;
      if (existsSync(f)) out.push(...readFileSync(f, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    }
  } catch {
    /* gone */
  }
  return out;
}

/** VmRSS and VmHWM (peak) of a pid in MB, from /proc/<pid>/status; null when gone. */
function memOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s) || [])[1] || 0);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** The process and its children (a cluster primary and its workers). */
function treeMem(pid) {
  const pids = [pid, ...childPids(pid)];
  const each = pids.map((p) => ({ pid: p, ...memOf(p) })).filter((m) => m.rssMb !== undefined);
  return {
    each,
    rssMb: each.reduce((a, m) => a + m.rssMb, 0),
    maxHwmMb: Math.max(0, ...each.map((m) => m.hwmMb)),
  };
}

/** Process CPU time (user+sys, ms) of a pid from /proc/<pid>/stat. */
function cpuMsOf(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(parts[11]) + Number(parts[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

/**
 * The pid of the MariaDB (or MySQL) server when it runs on this machine, else null: its CPU time per
 * answered request is reported beside the servers' own (every statement the app saves, MariaDB saves).
 */
function databasePid() {
  if (!['127.0.0.1', 'localhost', '::1'].includes(MYSQL.host)) return null;
  for (const name of ['mariadbd', 'mysqld']) {
    try {
      const pid = Number(execFileSync('pgrep', ['-o', '-x', name], { encoding: 'utf8' }).trim());
      if (pid > 0) return pid;
    } catch {
      /* not this one */
    }
  }
  return null;
}

function loadAvg() {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

async function machine() {
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m) || [])[1] || os.cpus()[0]?.model || 'unknown';
  let nproc = os.cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    /* os.cpus() then */
  }
  const memGb = (os.totalmem() / 1024 ** 3).toFixed(1);
  return { nproc, cpu, memGb, node: process.version, mariadb: await mariadbVersion(), kernel: os.release() };
}

/**
 * Starts the built app as production does (`node dist/src/main.js`), on MySQL database `database`
 * (migrated at start), role all, NODE_ENV=test (no sandbox, no production refusals), LOG_LEVEL=warn,
 * every WeChat credential set explicitly. Resolves once /api/v1/health answers 200.
 */
async function startApp({
  database,
  workers = 1,
  nodeArgs = [],
  main = path.join(ROOT, 'dist/src/main.js'),
  extraEnv = {},
  pool = '10',
  logLevel = 'warn',
}) {
  const port = await freePort();
  const dataDir = require('node:fs').mkdtempSync(path.join(os.tmpdir(), 'bench-data-'));
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: logLevel,
    APP_ROLE: 'all',
    APP_HOST: '127.0.0.1',
    APP_PORT: String(port),
    DB_TYPE: 'mysql',
    MYSQL_HOST: MYSQL.host,
    MYSQL_PORT: String(MYSQL.port),
    MYSQL_USER: MYSQL.user,
    MYSQL_PASSWORD: MYSQL.password,
    MYSQL_DATABASE: database,
    MYSQL_POOL_SIZE: String(pool),
    WECHAT_TOKEN: KEYS.token,
    WECHAT_APPID: KEYS.appId,
    WECHAT_SECRET: KEYS.secret,
    WECHAT_ENCODING_AES_KEY: KEYS.encodingAesKey,
    WECHAT_PAY_VERSION: 'v2',
    WECHAT_PAY_MCHID: KEYS.mchId,
    WECHAT_PAY_API_KEY: KEYS.payKey,
    SESSION_SECRET: KEYS.sessionSecret,
    // Lets the bench read the app's own metrics (event-loop delay, GC) around each measured run.
    ADMIN_API_KEY: KEYS.adminKey,
    DATA_DIR: dataDir,
    WECHAT_SANDBOX: 'false',
    DOCS_ENABLED: 'false',
    // Clients are spread over many addresses (X-Forwarded-For, as behind lighttpd on loopback); the
    // limit is raised so that long or repeated runs never meet it. One address with a huge limit
    // would make the throttler's per-key hit list grow without bound (O(n) per request), which no
    // deployment has.
    RATE_LIMIT_PER_MINUTE: '100000',
    WORKERS: String(workers),
    ...extraEnv,
  };
  const child = spawnNode([...nodeArgs, main], env, { cwd: dataDir });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/api/v1/health`, child, { timeoutMs: 90_000 });
  } catch (err) {
    await child.stop('SIGKILL');
    throw err;
  }
  return { url, port, child, pid: child.pid, dataDir, cleanup: () => require('node:fs').rmSync(dataDir, { recursive: true, force: true }) };
}

/** prom-client's default eventLoopMonitoringPrecision: the period of the timer its event-loop histogram watches. */
const LOOP_TIMER_MS = 10;

/**
 * The app's event-loop delay and GC since the previous call, from its Prometheus metrics
 * (prom-client's defaults: the event-loop delay histogram restarts at every scrape; GC durations
 * are cumulative, so `since` — the previous result — turns them into this window's).
 */
async function appRuntime(url, since) {
  const res = await fetch(`${url}/api/v1/internal/metrics`, { headers: { 'x-admin-key': KEYS.adminKey } });
  if (!res.ok) return null;
  const text = await res.text();
  const value = (name) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  };
  let gcSum = 0;
  let gcCount = 0;
  for (const m of text.matchAll(/^nodejs_gc_duration_seconds_(sum|count)\{[^}]*\} (\S+)$/gm)) {
    if (m[1] === 'sum') gcSum += Number(m[2]);
    else gcCount += Number(m[2]);
  }
  // The histogram holds the time between the timer's ticks (an idle process reads 10–12 ms): the
  // delay is what exceeds the period.
  const delay = (name) => Math.max(0, value(name) * 1000 - LOOP_TIMER_MS);
  return {
    loopP99Ms: delay('nodejs_eventloop_lag_p99_seconds'),
    loopMaxMs: delay('nodejs_eventloop_lag_max_seconds'),
    gcSum,
    gcCount,
    gcMs: since ? (gcSum - since.gcSum) * 1000 : NaN,
    gcPauses: since ? gcCount - since.gcCount : NaN,
  };
}

/** One of 4096 client addresses (10.0.x.y) for X-Forwarded-For. */
function clientIp(i) {
  const n = i % 4096;
  return `10.0.${n >> 8}.${n & 255}`;
}

module.exports = {
  ROOT,
  startApp,
  appRuntime,
  clientIp,
  MYSQL,
  KEYS,
  VERIFY_PATH,
  NOTIFY_PATH,
  parseArgs,
  sha1,
  nonce,
  serverSignature,
  verifyQuery,
  signedPush,
  buildXml,
  subscribeXml,
  v2Sign,
  v2PaidXml,
  admin,
  createDatabase,
  dropDatabase,
  cloneSchema,
  seedPendingOrders,
  seedBoundUser,
  invariantViolations,
  creditedTimes,
  freePort,
  spawnNode,
  waitFor,
  childPids,
  memOf,
  treeMem,
  cpuMsOf,
  databasePid,
  loadAvg,
  machine,
  CREDITS_PACKAGE,
};
