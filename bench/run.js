'use strict';
/**
 * `npm run bench` (docs/quality.md "Load and speed"): the built app (`node dist/src/main.js`, MySQL,
 * APP_ROLE=all, LOG_LEVEL=warn) against two baselines measured in the same run — a minimal
 * Express 5 + mysql2 server and a minimal node:http + mysql2 server doing the same SQL and the
 * same signature checks (bench/baseline-core.js) — driven by wrk on 127.0.0.1 (bench/wrk.js).
 *
 * Rows: GET verify, POST push (subscribe, new openid per request), POST notify (a new pending
 * order per request), POST notify storm (one order, the identical notification repeated; credited
 * exactly once is checked afterwards), GET user/credits (client_id of a bound user).
 *
 * Flags:
 *   --duration S      seconds measured per row and server (default 10)
 *   --warmup S        unmeasured seconds before each measurement (default 2)
 *   --connections N   concurrent connections (default 64)
 *   --workers N       start the app with WORKERS=N (cluster)
 *   --repeat N        measure each (row, server) N times, report the median by requests/s
 *   --only a,b        rows: verify,push,notify,storm,credits
 *   --servers a,b     servers: app,express,node (default all three)
 *   --cpu-prof        run the app under `node --cpu-prof`; the profile is summarised at the end
 *   --no-write        do not write bench/results/<date>.md
 *   --wrk-threads N   wrk threads (default 1: one event loop keeps up and leaves the cores to the servers)
 *   --seed-rate N     pending orders and signed pushes built per second of load (default 4000: node:http
 *                     answered 3 031 pushes a second in a fast phase and ran out at 3000)
 *   --pool N          MYSQL_POOL_SIZE for app and baselines (default 16: at 64 connections on two
 *                     cores it answered 18 % more notifications a second than the app's default of
 *                     10 and was no worse on the other rows; docs/performance.md)
 *   --app-env K=V,…   extra environment of the app process
 *   --node-args "…"    extra node flags of the app process (--trace-gc, heap sizes), after start:prod's
 *   --prod-flags=false  without what `npm run start:prod` adds (the heap limits, MALLOC_ARENA_MAX)
 *   --dump-output     print the app's output at the end
 *   --main FILE       the app's entry point (default dist/src/main.js; another build for experiments)
 *
 * Every database is created fresh and dropped at the end. Numbers on a shared 2-core machine are
 * noisy: that is why the ratios (measured minutes apart, interleaved per row) are the figures.
 */
const { mkdirSync, writeFileSync, readdirSync, existsSync } = require('node:fs');
const path = require('node:path');
const { ensureWrk, runWrk } = require('./wrk');
const L = require('./lib');

const args = L.parseArgs(process.argv.slice(2));
const DURATION = Number(args.duration || 10);
const WARMUP = Number(args.warmup ?? 2);
const CONNECTIONS = Number(args.connections || 64);
const WORKERS = Number(args.workers || 1);
const REPEAT = Math.max(1, Number(args.repeat || 1));
const POOL = String(args.pool || 16);
const ALL_ROWS = ['verify', 'push', 'notify', 'storm', 'credits'];
const ROWS = args.only ? args.only.split(',') : ALL_ROWS;
const SERVERS = args.servers ? args.servers.split(',') : ['express', 'node', 'app'];
const CPU_PROF = args['cpu-prof'] === 'true';
// An alternative build of the app (profiling experiments); default: this repository's dist/.
const MAIN = path.resolve(args.main || path.join(L.ROOT, 'dist/src/main.js'));
const WRITE = args['no-write'] !== 'true';
const SEED_RATE = Number(args['seed-rate'] || 4000); // pending orders (and signed pushes) per second of load
const WRK_THREADS = Number(args['wrk-threads'] || 1);
/** `npm run start:prod` (`[VAR=value …] node <flags> dist/src/main.js`): its environment prefix and node flags. */
const START_PROD = /^((?:\s*[A-Z_]+=\S+)*)\s*node((?:\s+--\S+)*)\s+dist\/src\/main\.js/.exec(
  require('../package.json').scripts['start:prod'],
) || ['', '', ''];
const PROD_NODE_FLAGS = START_PROD[2].split(/\s+/).filter(Boolean);
const PROD_ENV = Object.fromEntries(
  START_PROD[1]
    .split(/\s+/)
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);

const ROW_TITLES = {
  verify: 'GET verify',
  push: 'POST push (subscribe, new openid)',
  notify: 'POST notify (new order each)',
  storm: 'POST notify storm (1 order)',
  credits: 'GET user/credits (client_id)',
};

function log(...a) {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);
}

const WELCOME = '欢迎关注';

const { clientIp } = L;

/**
 * The requests of one row against one server for a run of `seconds`, built (and signed) now, and the
 * text every answer must contain. `unique`: each line may be sent once (a new follower, a new order);
 * a run that needs more than were built cycles and reports it (`wrapped`).
 */
function rowRequests(row, srv, seconds) {
  const n = Math.ceil(seconds * SEED_RATE);
  switch (row) {
    case 'verify': {
      const echostr = '4375120948345356249';
      return { requests: [{ method: 'GET', path: `${L.VERIFY_PATH}?${L.verifyQuery(echostr)}` }], expect: echostr };
    }
    case 'push': {
      const requests = [];
      for (let i = 0; i < n; i++) {
        const openid = `oP${srv.tag}${srv.runId}${(srv.pushSeq++).toString(36).padStart(8, '0')}`;
        const p = L.signedPush(L.subscribeXml(openid));
        requests.push({ method: 'POST', path: p.path, body: p.body });
      }
      return { requests, expect: WELCOME, unique: true };
    }
    case 'notify': {
      const requests = [];
      for (let i = 0; i < n && srv.orderSeq < srv.orders.length; i++)
        requests.push({ method: 'POST', path: L.NOTIFY_PATH, body: L.v2PaidXml(srv.orders[srv.orderSeq++]) });
      if (!requests.length) throw new Error(`${srv.name}: no pending orders left (raise --seed-rate)`);
      return { requests, expect: 'SUCCESS', unique: true };
    }
    case 'storm':
      return { requests: [{ method: 'POST', path: L.NOTIFY_PATH, body: srv.stormBody }], expect: 'SUCCESS' };
    case 'credits': {
      // Production runs behind lighttpd on loopback (TRUST_PROXY=loopback): requests come from
      // many desktop clients, each counted by the per-IP limit under its own address.
      const p = `/api/v1/user/credits?client_id=${encodeURIComponent(srv.bound.clientId)}`;
      const requests = [];
      for (let i = 0; i < 4096; i++) requests.push({ method: 'GET', path: p, header: ['X-Forwarded-For', clientIp(srv.ipSeq++)] });
      return { requests, expect: '"success":true' };
    }
    default:
      throw new Error(`unknown row ${row}`);
  }
}

async function load(row, srv, seconds) {
  const { requests, expect, unique } = rowRequests(row, srv, seconds);
  const r = await runWrk({ url: srv.url, connections: CONNECTIONS, seconds, requests, expect, threads: WRK_THREADS });
  return { ...r, wrapped: unique ? r.wrapped : 0 };
}

const DB_PID = L.databasePid();

async function measure(row, srv) {
  if (WARMUP > 0) await load(row, srv, WARMUP);
  const tree = () => [srv.pid, ...L.childPids(srv.pid)].reduce((a, p) => a + L.cpuMsOf(p), 0);
  // The app's own view of the window (one process only): event-loop delay and GC.
  const runtime = srv.name === 'app' && WORKERS === 1 ? await L.appRuntime(srv.url).catch(() => null) : null;
  const cpu0 = tree();
  const db0 = DB_PID ? L.cpuMsOf(DB_PID) : 0;
  let rssMax = 0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, L.treeMem(srv.pid).rssMb)), 200);
  const r = await load(row, srv, DURATION).finally(() => clearInterval(sampler));
  const cpuMs = tree() - cpu0;
  const dbMs = DB_PID ? L.cpuMsOf(DB_PID) - db0 : NaN;
  const rt = runtime ? await L.appRuntime(srv.url, runtime).catch(() => null) : null;
  return {
    runtime: rt,
    rps: r.rps,
    total: r.total,
    p50: r.p50,
    p90: r.p90,
    p99: r.p99,
    max: r.max,
    errors: r.errors,
    non2xx: r.non2xx,
    mismatches: r.mismatches,
    wrapped: r.wrapped,
    ok: r.ok,
    cpuPct: (cpuMs / (DURATION * 1000)) * 100,
    // CPU time of the server per answered request: far less sensitive to other load than req/s.
    usPerReq: r.total ? (cpuMs * 1000) / r.total : NaN,
    wrkCpuPct: (r.wrkCpuMs / (DURATION * 1000)) * 100,
    // MariaDB's and wrk's CPU per answered request: with the server's, what one request costs the machine.
    dbUsPerReq: r.total ? (dbMs * 1000) / r.total : NaN,
    wrkUsPerReq: r.total ? (r.wrkCpuMs * 1000) / r.total : NaN,
    rssMax,
    load: L.loadAvg(),
  };
}

function median(runs) {
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  const m = sorted[Math.floor((sorted.length - 1) / 2)];
  return { ...m, all: runs.map((x) => Math.round(x.rps)) };
}

async function startServers(machine) {
  const servers = {};
  const appDb = await L.createDatabase('bench_app');
  const created = [appDb];
  const common = {
    NODE_ENV: 'test',
    WECHAT_TOKEN: L.KEYS.token,
    WECHAT_APPID: L.KEYS.appId,
    WECHAT_SECRET: L.KEYS.secret,
    WECHAT_ENCODING_AES_KEY: L.KEYS.encodingAesKey,
    WECHAT_PAY_VERSION: 'v2',
    WECHAT_PAY_MCHID: L.KEYS.mchId,
    WECHAT_PAY_API_KEY: L.KEYS.payKey,
    MYSQL_HOST: L.MYSQL.host,
    MYSQL_PORT: String(L.MYSQL.port),
    MYSQL_USER: L.MYSQL.user,
    MYSQL_PASSWORD: L.MYSQL.password,
    MYSQL_POOL_SIZE: POOL,
    // The app's limit in the bench (bench/lib.js startApp): never reached, always counted.
    RATE_LIMIT_PER_MINUTE: '100000',
  };
  // The app first: its migrations build the schema the baselines' databases are cloned from.
  const profDir = path.join(require('node:os').tmpdir(), 'bench-prof', new Date().toISOString().replace(/[:.]/g, '-'));
  const nodeArgs = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  // The node flags production starts the app with (package.json start:prod, the systemd units): the
  // heap limits. --prod-flags=false drops them (A/B of their cost).
  if (args['prod-flags'] !== 'false') nodeArgs.push(...PROD_NODE_FLAGS);
  // Extra node flags for experiments: --node-args "--trace-gc --max-semi-space-size=8"
  if (args['node-args']) nodeArgs.push(...args['node-args'].split(' ').filter(Boolean));
  // Extra variables for experiments: --app-env K=V,K2=V2
  const extraEnv = Object.fromEntries(
    (args['app-env'] || '')
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const prodEnv = args['prod-flags'] !== 'false' ? PROD_ENV : {};
  const started = await L.startApp({
    database: appDb,
    workers: WORKERS,
    nodeArgs,
    main: MAIN,
    extraEnv: { ...prodEnv, ...extraEnv },
    pool: POOL,
  });
  const app = started.child;
  const dataDir = started.dataDir;
  const appPort = started.port;
  servers.app = { name: 'app', tag: 'A', url: `http://127.0.0.1:${appPort}`, child: app, pid: app.pid, db: appDb, profDir };

  for (const [name, file, tag] of [
    ['express', 'baseline-express.js', 'E'],
    ['node', 'baseline-node.js', 'N'],
  ]) {
    if (!SERVERS.includes(name)) continue;
    const db = await L.createDatabase(`bench_${name}`);
    created.push(db);
    await L.cloneSchema(appDb, db);
    const port = await L.freePort();
    const baseProfDir = `${profDir}-${name}`;
    const baseArgs = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${baseProfDir}`] : [];
    const child = L.spawnNode([...baseArgs, path.join(__dirname, file)], { ...common, MYSQL_DATABASE: db, PORT: String(port) });
    await L.waitFor(`http://127.0.0.1:${port}/api/v1/health`, child);
    servers[name] = { name, tag, url: `http://127.0.0.1:${port}`, child, pid: child.pid, db, profDir: baseProfDir };
  }
  if (!SERVERS.includes('app')) {
    // Schema source only.
    servers.app.hidden = true;
  }
  for (const s of Object.values(servers)) {
    s.pushSeq = 0;
    s.orderSeq = 0;
    s.ipSeq = 0;
    s.runId = Date.now().toString(36);
  }
  void machine;
  return { servers, created, dataDir };
}

async function seed(servers) {
  const perServer = Math.ceil((DURATION + WARMUP) * REPEAT * SEED_RATE) + 1000;
  for (const s of Object.values(servers)) {
    if (s.hidden) continue;
    const t0 = Date.now();
    s.orders = ROWS.includes('notify') ? await L.seedPendingOrders(s.db, perServer, s.tag) : [];
    [s.stormOrder] = await L.seedPendingOrders(s.db, 1, `${s.tag}S`);
    s.stormOrder.transactionId = `4200STORM${s.tag}${Date.now()}`;
    s.stormBody = L.v2PaidXml(s.stormOrder);
    s.bound = await L.seedBoundUser(s.db, s.tag);
    log(`${s.name}: seeded ${s.orders.length} pending orders, a storm order and a bound user in ${Date.now() - t0} ms`);
  }
}

function fmt(n, d = 0) {
  return n === undefined || n === null || Number.isNaN(n) ? '–' : Number(n).toFixed(d);
}

/** CPU per answered request, app ÷ baseline (issue 14): verify against bare Express, database rows against node:http. */
const CPU_TARGETS = { verify: ['express', 1.3], push: ['node', 3], notify: ['node', 1.5], storm: ['node', 2], credits: ['node', 3] };

function verdicts(row, r, cores) {
  const out = [];
  if (!r.app) return out;
  const [base, max] = CPU_TARGETS[row] || [];
  if (r[base]) {
    const x = r.app.usPerReq / r[base].usPerReq;
    out.push(`CPU/req ${x.toFixed(2)}× ${base === 'node' ? 'node:http' : 'Express'} ${x <= max ? `≤ ${max} ✓` : `> ${max} ✗`}`);
  }
  if (r.express) {
    const ratio = r.app.rps / r.express.rps;
    out.push(ratio >= 0.7 ? `req/s ${ratio.toFixed(2)}× Express ≥ 0.7 ✓` : `req/s ${ratio.toFixed(2)}× Express < 0.7 ✗`);
  }
  if (r.app.p99 <= 100) out.push(`p99 ${fmt(r.app.p99)} ms ≤ 100 ✓`);
  else {
    // Beside a missed p99: the floor the machine puts under the mean, for the app and for node:http.
    const context = [`mean latency floor from the machine's CPU per request ${fmt(meanLatencyFloorMs(r.app, cores))} ms`];
    if (r.node) context.push(`node:http's floor ${fmt(meanLatencyFloorMs(r.node, cores))} ms and p99 ${fmt(r.node.p99)} ms`);
    out.push(`p99 ${fmt(r.app.p99)} ms > 100 ✗ (${context.join('; ')})`);
  }
  const errs = r.app.errors + r.app.non2xx + r.app.mismatches;
  out.push(errs === 0 ? 'no errors ✓' : `${errs} errors ✗`);
  if (r.app.wrapped) out.push(`requests reused ${r.app.wrapped}× ✗`);
  return out;
}

function table(results) {
  const lines = [
    '| row | app req/s | Express req/s | node:http req/s | app/Express | app/node | p50 ms (app / Exp / node) | p99 ms (app / Exp / node) | errors (app / Exp / node) | CPU µs/req (app / Exp / node) | app CPU ÷ (Exp, node) | app RSS max MB | 1-min load (app / Exp / node run) |',
    '|---|---:|---:|---:|---:|---:|---|---|---|---|---|---:|---|',
  ];
  for (const row of ROWS) {
    const r = results[row] || {};
    const a = r.app;
    const e = r.express;
    const n = r.node;
    const err = (x) => (x ? String(x.errors + x.non2xx + x.mismatches) + (x.wrapped ? ` (reused ${x.wrapped}×)` : '') : '–');
    const cpuX = (x) => (a && x ? (a.usPerReq / x.usPerReq).toFixed(2) : '–');
    const ld = (x) => (x ? x.load.split(' ')[0] : '–');
    lines.push(
      `| ${ROW_TITLES[row]} | ${fmt(a?.rps)} | ${fmt(e?.rps)} | ${fmt(n?.rps)} | ${a && e ? (a.rps / e.rps).toFixed(2) : '–'} | ${a && n ? (a.rps / n.rps).toFixed(2) : '–'} | ` +
        `${fmt(a?.p50, 1)} / ${fmt(e?.p50, 1)} / ${fmt(n?.p50, 1)} | ${fmt(a?.p99, 1)} / ${fmt(e?.p99, 1)} / ${fmt(n?.p99, 1)} | ${err(a)} / ${err(e)} / ${err(n)} | ` +
        `${fmt(a?.usPerReq)} / ${fmt(e?.usPerReq)} / ${fmt(n?.usPerReq)} | ${cpuX(e)}, ${cpuX(n)} | ${fmt(a?.rssMax)} | ${ld(a)} / ${ld(e)} / ${ld(n)} |`,
    );
  }
  return lines.join('\n');
}

/** What one answered request of a measurement costs the whole machine: server + MariaDB + wrk CPU, µs. */
function machineUsPerReq(x) {
  return x.usPerReq + (Number.isFinite(x.dbUsPerReq) ? x.dbUsPerReq : 0) + x.wrkUsPerReq;
}

/**
 * The floor that cost puts under the latency: CONNECTIONS requests always in flight on `cores` cores
 * cannot be answered faster than cores ÷ (CPU per request) per second, so by Little's law their mean
 * latency is at least CONNECTIONS × (CPU per request) ÷ cores — whatever the server does with its share.
 */
function meanLatencyFloorMs(x, cores) {
  return (CONNECTIONS * machineUsPerReq(x)) / cores / 1000;
}

function machineTable(results, cores) {
  const lines = [
    `| row | server | server CPU µs/req | MariaDB CPU µs/req | wrk CPU µs/req | machine CPU µs/req | mean latency floor at ${CONNECTIONS} connections, ms | mean (${CONNECTIONS} ÷ req/s) / p99 measured, ms |`,
    '|---|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const row of ROWS) {
    for (const name of ['app', 'express', 'node']) {
      const x = results[row]?.[name];
      if (!x) continue;
      lines.push(
        `| ${ROW_TITLES[row]} | ${name === 'node' ? 'node:http' : name === 'express' ? 'Express' : 'app'} | ${fmt(x.usPerReq)} | ${fmt(x.dbUsPerReq)} | ${fmt(x.wrkUsPerReq)} | ${fmt(machineUsPerReq(x))} | ` +
          `${fmt(meanLatencyFloorMs(x, cores), 1)} | ${fmt((CONNECTIONS / x.rps) * 1000, 1)} / ${fmt(x.p99, 1)} |`,
      );
    }
  }
  return lines.join('\n');
}

async function main() {
  ensureWrk();
  const machine = await L.machine();
  log(
    `machine: ${machine.nproc} cores, ${machine.cpu}, ${machine.memGb} GB, node ${machine.node}, MariaDB ${machine.mariadb}; load ${L.loadAvg()}`,
  );
  const { servers, created, dataDir } = await startServers(machine);
  const app = servers.app;
  // Idle: started, migrated, health answered, no load yet. One second after start the process still
  // holds its start-up (the young generation grown while modules loaded, the garbage of start-up);
  // V8's memory reducer gives that back after some seconds without traffic. Both are reported; the
  // target is the settled one (--idle-wait seconds, default 30; 0 skips it).
  await new Promise((r) => setTimeout(r, 1000));
  const startedMb = L.treeMem(app.pid).rssMb;
  const idleWait = Number(args['idle-wait'] ?? 30);
  if (idleWait > 0) log(`waiting ${idleWait} s for the app's idle memory to settle`);
  await new Promise((r) => setTimeout(r, idleWait * 1000));
  const idleMb = idleWait > 0 ? L.treeMem(app.pid).rssMb : undefined;
  let peak = { maxHwmMb: 0, rssMb: 0 };
  const sampler = setInterval(() => {
    const m = L.treeMem(app.pid);
    if (m.maxHwmMb > peak.maxHwmMb) peak.maxHwmMb = m.maxHwmMb;
    if (m.rssMb > peak.rssMb) peak.rssMb = m.rssMb;
  }, 500);
  const results = {};
  const checks = [];
  const loads = [];
  let failed = false;
  try {
    await seed(servers);
    const order = SERVERS.filter((s) => servers[s] && !servers[s].hidden);
    for (const row of ROWS) {
      results[row] = {};
      const runs = Object.fromEntries(order.map((s) => [s, []]));
      for (let i = 0; i < REPEAT; i++) {
        for (const name of order) {
          const r = await measure(row, servers[name]);
          runs[name].push(r);
          loads.push(Number(r.load.split(' ')[0]));
          log(
            `${row.padEnd(7)} ${name.padEnd(7)} ${fmt(r.rps).padStart(6)} req/s  p50 ${fmt(r.p50, 1)} p90 ${fmt(r.p90, 1)} p99 ${fmt(r.p99, 1)} max ${fmt(r.max)} ms  errors ${r.errors}/${r.non2xx}/${r.mismatches}` +
              `${r.wrapped ? `  WRAPPED ${r.wrapped}× (raise --seed-rate)` : ''}  cpu ${fmt(r.cpuPct)}%  ${fmt(r.usPerReq)} µs/req  wrk cpu ${fmt(r.wrkCpuPct)}%  rss ${fmt(r.rssMax)} MB  load ${r.load}` +
              (r.runtime
                ? `  loop delay p99 ${fmt(r.runtime.loopP99Ms, 1)} max ${fmt(r.runtime.loopMaxMs, 1)} ms, GC ${fmt(r.runtime.gcMs)} ms in ${r.runtime.gcPauses}`
                : ''),
          );
        }
      }
      for (const name of order) results[row][name] = median(runs[name]);
    }
    // Exactly-once of the storm, and the ledger invariants, on every server's database.
    for (const name of order) {
      const s = servers[name];
      if (ROWS.includes('storm')) {
        const c = await L.creditedTimes(s.db, s.stormOrder);
        const once = c.records === 1 && c.ledger === 1 && c.remaining === L.CREDITS_PACKAGE.credits && c.status === 'paid';
        checks.push(
          `${name}: storm of ${results.storm[name].total}+ identical notifications → ${c.records} payment record, ${c.ledger} purchase entry, balance ${c.remaining} ${once ? '(credited exactly once ✓)' : '✗ NOT EXACTLY ONCE'}`,
        );
        if (!once && name === 'app') failed = true;
      }
      const v = await L.invariantViolations(s.db);
      checks.push(
        `${name}: ledger/order invariants ${v.length === 0 ? 'hold ✓' : `violated ✗ (${v.length}: ${v.slice(0, 3).join('; ')})`}`,
      );
      if (v.length && name === 'app') failed = true;
    }
  } finally {
    clearInterval(sampler);
    const last = L.treeMem(app.pid);
    peak.maxHwmMb = Math.max(peak.maxHwmMb, last.maxHwmMb);
    for (const s of Object.values(servers)) {
      const r = await s.child.stop('SIGTERM');
      if (s === app && args['dump-output'] === 'true') console.log(s.child.output());
      if (s === app && r.code !== 0) log(`app exited with ${r.code ?? r.signal}:\n${s.child.output().slice(-3000)}`);
    }
    for (const db of created) await L.dropDatabase(db).catch(() => undefined);
    require('node:fs').rmSync(dataDir, { recursive: true, force: true });
  }

  const date = new Date().toISOString().slice(0, 10);
  const md = [];
  md.push(`# Benchmark ${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC`);
  md.push('');
  md.push(
    `Machine: ${machine.nproc} cores (${machine.cpu}), ${machine.memGb} GB RAM, Linux ${machine.kernel}, node ${machine.node}, MariaDB ${machine.mariadb}. ` +
      `Load generator wrk (${WRK_THREADS} thread${WRK_THREADS > 1 ? 's' : ''}, ${CONNECTIONS} connections), app and MariaDB share the cores.`,
  );
  md.push(
    `App: \`${[...(args['prod-flags'] !== 'false' ? Object.entries(PROD_ENV).map(([k, v]) => `${k}=${v}`) : []), 'node', ...(args['prod-flags'] !== 'false' ? PROD_NODE_FLAGS : []), ...(args['node-args'] || '').split(' ').filter(Boolean), 'dist/src/main.js'].join(' ')}\`, APP_ROLE=all, MySQL, LOG_LEVEL=warn, WORKERS=${WORKERS}, pool ${POOL}${CPU_PROF ? ', under --cpu-prof (slower)' : ''}. ` +
      `${DURATION} s measured per row and server after ${WARMUP} s warm-up${REPEAT > 1 ? `, median of ${REPEAT}` : ''}; interleaved per row (Express, node:http, app).`,
  );
  md.push(
    `Noise: 1-minute load average ${loads.length ? `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}` : '?'} during the measurements (2 cores: the server under test, MariaDB and wrk share them, with whatever else runs on the machine). ` +
      "CPU µs/req is the server process's CPU time per answered request (from /proc): the least noise-sensitive figure.",
  );
  md.push('');
  md.push(table(results));
  md.push('');
  if (DB_PID) {
    md.push(
      `What one answered request costs the machine (${machine.nproc} cores): the server's CPU, MariaDB's (${machine.mariadb.split('-')[0]} on this machine, all of its threads) and wrk's, in the same runs. ` +
        `With ${CONNECTIONS} requests always in flight, the mean latency cannot be below ${CONNECTIONS} × that ÷ ${machine.nproc} cores (Little's law), ` +
        'whatever else the machine runs; the p99 sits above the mean.',
    );
    md.push('');
    md.push(machineTable(results, machine.nproc));
    md.push('');
  }
  const runtimes = ROWS.filter((row) => results[row]?.app?.runtime).map((row) => {
    const x = results[row].app;
    return `${row} ${fmt(x.runtime.loopP99Ms, 1)} / ${fmt(x.runtime.loopMaxMs, 1)} ms, GC ${fmt(x.runtime.gcMs)} ms in ${x.runtime.gcPauses} pauses (${fmt((x.runtime.gcMs / (DURATION * 1000)) * 100, 1)} % of the window)`;
  });
  if (runtimes.length) {
    md.push(
      `The app's event-loop delay (p99 / max over the measured window: how late prom-client's 10 ms timer fired) and its GC in the same runs: ${runtimes.join('; ')}.`,
    );
    md.push('');
  }
  md.push(
    `Peak RSS of the app: ${fmt(peak.maxHwmMb, 1)} MB (VmHWM${WORKERS > 1 ? ', largest process' : ''}; target ≤ 150 MB), 1 s after start ${fmt(startedMb, 1)} MB, idle ${idleMb === undefined ? 'not measured (--idle-wait 0)' : `${idleWait} s after start ${fmt(idleMb, 1)} MB`} (target ≤ 100 MB)${WORKERS > 1 ? `, all processes together ${fmt(peak.rssMb, 1)} MB` : ''}.`,
  );
  md.push('');
  for (const c of checks) md.push(`- ${c}`);
  md.push('');
  md.push(
    'Targets (docs/quality.md, docs/performance.md): CPU per answered request ≤ 1.3× Express on verify, ≤ 3× / 1.5× / 2× / 3× node:http on push / notify / storm / credits; every row ≥ 0.7× Express; p99 ≤ 100 ms; zero errors; peak RSS ≤ 150 MB (idle ≤ 100 MB).',
  );
  for (const row of ROWS) md.push(`- ${ROW_TITLES[row]}: ${verdicts(row, results[row], machine.nproc).join(', ')}`);
  if (REPEAT > 1) {
    md.push('');
    md.push(
      'All runs (req/s): ' +
        ROWS.map(
          (row) =>
            `${row}: ` +
            Object.entries(results[row])
              .map(([n, r]) => `${n} ${r.all.join('/')}`)
              .join(', '),
        ).join('; '),
    );
  }
  const text = md.join('\n');
  console.log('\n' + text + '\n');

  if (CPU_PROF) {
    const { summarise } = require('./profile-summary');
    for (const s of Object.values(servers)) {
      if (s.hidden || !existsSync(s.profDir)) continue;
      const files = readdirSync(s.profDir).filter((f) => f.endsWith('.cpuprofile'));
      for (const f of files) console.log(`\n## ${s.name}` + summarise(path.join(s.profDir, f), 25));
    }
  }
  if (WRITE) {
    const dir = path.join(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${date}.md`);
    const prev = existsSync(file) ? require('node:fs').readFileSync(file, 'utf8') + '\n\n---\n\n' : '';
    writeFileSync(file, prev + text + '\n');
    log(`written to ${path.relative(L.ROOT, file)}`);
  }
  if (failed) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
