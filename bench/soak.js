'use strict';
/**
 * `npm run soak -- --minutes N` (docs/quality.md: the stand-in for the customer's "24 hours without a
 * fault"; not part of CI). Starts the built app like `npm run bench` (MySQL, role all, a fresh
 * database created and dropped) and sends mixed traffic at a moderate fixed rate through every
 * endpoint of the bench for N minutes:
 *   GET verify · POST push (subscribe, new openid) · POST notify (a new pending order each) ·
 *   POST notify storm (one order, the identical notification again and again) · GET user/credits.
 * Every answer is checked (status and body). Prints progress every 30 s; at the end: requests,
 * errors by kind, RSS at minute 2 (or half-time in runs shorter than 4 minutes) and at the end
 * (growth must stay under 10 %), and the ledger invariants, the storm order credited exactly once
 * and every acknowledged notification applied once. Exit code 1 when any check fails.
 *
 * Flags: --minutes N (default 10) · --rate R requests/s in total (default 200) · --connections C (16)
 *        --workers N (app with WORKERS=N)
 * Longer soaks: `npm run soak -- --minutes 1440` runs the full 24 hours (the database grows by
 * about rate/5 users and orders per second; MariaDB needs the disk for it).
 */
const autocannon = require('autocannon');
const L = require('./lib');

const args = L.parseArgs(process.argv.slice(2));
const MINUTES = Number(args.minutes || 10);
const RATE = Number(args.rate || 200);
const CONNECTIONS = Number(args.connections || 16);
const WORKERS = Number(args.workers || 1);
const SECONDS = Math.round(MINUTES * 60);
const REFERENCE_S = MINUTES >= 4 ? 120 : Math.max(10, Math.round(SECONDS / 2));

function log(...a) {
  console.log(`[soak ${new Date().toISOString().slice(11, 19)}]`, ...a);
}

async function main() {
  const machine = await L.machine();
  log(
    `${MINUTES} min at ${RATE} req/s over ${CONNECTIONS} connections; ${machine.nproc} cores, ${machine.cpu}, node ${machine.node}, MariaDB ${machine.mariadb}`,
  );
  const db = await L.createDatabase('soak');
  let app;
  let failed = false;
  try {
    app = await L.startApp({ database: db, workers: WORKERS });
    // A fifth of the traffic is new-order notifications: enough pending orders for all of them.
    const orders = await L.seedPendingOrders(db, Math.ceil((RATE / 5) * SECONDS * 1.1) + 100, 'S');
    const [storm] = await L.seedPendingOrders(db, 1, 'SS');
    storm.transactionId = `4200SOAKSTORM${Date.now()}`;
    const stormBody = L.v2PaidXml(storm);
    const bound = await L.seedBoundUser(db, 'S');
    log(`app ${app.url} (pid ${app.pid}); seeded ${orders.length} pending orders`);

    const stats = { verify: 0, push: 0, notify: 0, storm: 0, credits: 0 };
    const bad = {};
    const notBad = (kind, status, body, ok) => {
      stats[kind]++;
      if (!ok) {
        const key = `${kind} ${status}`;
        if (!bad[key]) bad[key] = { count: 0, sample: String(body).slice(0, 200) };
        bad[key].count++;
      }
    };
    let pushSeq = 0;
    let orderSeq = 0;
    let ipSeq = 0;
    const acknowledged = new Set();
    const echostr = '4375120948345356249';
    const requests = [
      {
        method: 'GET',
        setupRequest: (req) => ({ ...req, path: `${L.VERIFY_PATH}?${L.verifyQuery(echostr)}` }),
        onResponse: (status, body) => notBad('verify', status, body, status === 200 && body === echostr),
      },
      {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        setupRequest: (req) => {
          const p = L.signedPush(L.subscribeXml(`oSoak${(pushSeq++).toString(36).padStart(12, '0')}`));
          return { ...req, path: p.path, body: p.body };
        },
        onResponse: (status, body) => notBad('push', status, body, status === 200 && body.includes('欢迎关注')),
      },
      {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        setupRequest: (req, ctx) => {
          const o = orders[orderSeq++ % orders.length];
          ctx.order = o.orderNo;
          return { ...req, path: L.NOTIFY_PATH, body: L.v2PaidXml(o) };
        },
        onResponse: (status, body, ctx) => {
          const ok = status === 200 && body.includes('SUCCESS');
          if (ok) acknowledged.add(ctx.order);
          notBad('notify', status, body, ok);
        },
      },
      {
        method: 'POST',
        path: L.NOTIFY_PATH,
        headers: { 'content-type': 'text/xml' },
        body: stormBody,
        onResponse: (status, body) => notBad('storm', status, body, status === 200 && body.includes('SUCCESS')),
      },
      {
        method: 'GET',
        path: `/api/v1/user/credits?client_id=${encodeURIComponent(bound.clientId)}`,
        setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'x-forwarded-for': L.clientIp(ipSeq++) } }),
        onResponse: (status, body) => notBad('credits', status, body, status === 200 && body.includes('"success":true')),
      },
    ];

    const rss = [];
    const t0 = Date.now();
    let reference = null;
    const sampler = setInterval(() => {
      const m = L.treeMem(app.pid);
      const at = Math.round((Date.now() - t0) / 1000);
      rss.push({ at, mb: m.rssMb });
      if (reference === null && at >= REFERENCE_S) reference = { at, mb: m.rssMb };
    }, 1000);
    const progress = setInterval(() => {
      const total = Object.values(stats).reduce((a, b) => a + b, 0);
      const errors = Object.values(bad).reduce((a, b) => a + b.count, 0);
      log(
        `${Math.round((Date.now() - t0) / 1000)} s: ${total} requests, ${errors} bad answers, RSS ${L.treeMem(app.pid).rssMb.toFixed(1)} MB, load ${L.loadAvg()}`,
      );
    }, 30_000);

    const result = await new Promise((resolve, reject) => {
      const inst = autocannon(
        { url: app.url, connections: CONNECTIONS, overallRate: RATE, duration: SECONDS, timeout: 10, requests },
        (err, r) => (err ? reject(err) : resolve(r)),
      );
      inst.on('error', () => undefined);
    });
    clearInterval(sampler);
    clearInterval(progress);
    const end = { at: Math.round((Date.now() - t0) / 1000), mb: L.treeMem(app.pid).rssMb };
    if (!reference) reference = rss[Math.floor(rss.length / 2)] || end;
    const peak = L.treeMem(app.pid).maxHwmMb;

    const errors = result.errors + result.timeouts;
    const badCount = Object.values(bad).reduce((a, b) => a + b.count, 0);
    const growth = ((end.mb - reference.mb) / reference.mb) * 100;
    // Give the last acknowledged notifications' transactions no chance to be missed: they were
    // acknowledged only after commit, so they are visible now.
    const c = await L.creditedTimes(db, storm);
    const stormOnce = c.records === 1 && c.ledger === 1 && c.remaining === L.CREDITS_PACKAGE.credits;
    const conn = await L.admin(db);
    let notAppliedOnce = 0;
    try {
      const list = [...acknowledged];
      for (let i = 0; i < list.length; i += 1000) {
        const chunk = list.slice(i, i + 1000);
        const [rows] = await conn.query(
          `SELECT o.order_no, o.status, (SELECT COUNT(*) FROM payment_records r WHERE r.order_no = o.order_no) AS records,
                  (SELECT COUNT(*) FROM credit_ledger l WHERE l.reason = 'purchase' AND l.ref = o.order_no) AS entries
             FROM payment_orders o WHERE o.order_no IN (?)`,
          [chunk],
        );
        notAppliedOnce += rows.filter((r) => r.status !== 'paid' || Number(r.records) !== 1 || Number(r.entries) !== 1).length;
      }
    } finally {
      await conn.end();
    }
    const violations = await L.invariantViolations(db);

    console.log('');
    console.log(
      `Soak: ${MINUTES} min, ${result.requests.total} requests (${Math.round(result.requests.average)} req/s; ` +
        Object.entries(stats)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') +
        ')',
    );
    console.log(`Latency: p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`);
    console.log(
      `Errors: ${errors} connection errors/timeouts, ${result.non2xx} non-2xx, ${badCount} answers failing their check` +
        (badCount ? ` ${JSON.stringify(bad)}` : ''),
    );
    console.log(
      `RSS: ${reference.mb.toFixed(1)} MB at ${reference.at} s, ${end.mb.toFixed(1)} MB at the end (${end.at} s): ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} % (limit +10 %); peak ${peak.toFixed(1)} MB`,
    );
    console.log(
      `Storm order: ${c.records} payment record, ${c.ledger} purchase entry, balance ${c.remaining} → ${stormOnce ? 'credited exactly once' : 'NOT exactly once'}`,
    );
    console.log(`Acknowledged notifications: ${acknowledged.size}, not applied exactly once: ${notAppliedOnce}`);
    console.log(
      `Invariants: ${violations.length === 0 ? 'hold' : `${violations.length} violations: ${violations.slice(0, 5).join('; ')}`}`,
    );
    failed = errors > 0 || result.non2xx > 0 || badCount > 0 || growth >= 10 || !stormOnce || notAppliedOnce > 0 || violations.length > 0;
    console.log(failed ? 'SOAK FAILED' : 'SOAK PASSED');
  } finally {
    if (app) {
      const r = await app.child.stop('SIGTERM');
      if (r.code !== 0) {
        console.log(`app exited with ${r.code ?? r.signal}:\n${app.child.output().slice(-3000)}`);
        failed = true;
      }
      app.cleanup();
    }
    await L.dropDatabase(db).catch(() => undefined);
  }
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
