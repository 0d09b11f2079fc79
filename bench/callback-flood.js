'use strict';
/**
 * `node bench/callback-flood.js` (issue 12 item 6, docs/performance.md "Callback flood"): latency of
 * GET /user/credits while unsigned big XML bodies hit the callback URLs. The built app (MySQL,
 * APP_ROLE=all) gets a steady credits load alone, then the same load while a flood of 63 KB
 * documents with 3 500 fields is sent at a fixed rate, alternately to the push URL (encrypt_type=aes,
 * forged signatures, fresh timestamp) and to the v2 notify URL (unsigned). The flood's answers are
 * counted by status: with the caps they are refused before any parsing (413).
 *
 * Flags:
 *   --duration S      seconds per phase (default 10)
 *   --flood-rate N    flood requests per second (default 50)
 *   --credits-rate N  credits requests per second (default 100)
 *   --main FILE       the app's entry point (default dist/src/main.js; another build for before/after)
 *   --app-env K=V,…   extra environment of the app process (e.g. CALLBACK_BODY_LIMIT=64kb)
 *
 * Bounded: two phases of --duration seconds against 127.0.0.1; the database is dropped at the end.
 */
const path = require('node:path');
const autocannon = require('autocannon');
const L = require('./lib');

const args = L.parseArgs(process.argv.slice(2));
const DURATION = Number(args.duration || 10);
const FLOOD_RATE = Number(args['flood-rate'] || 50);
const CREDITS_RATE = Number(args['credits-rate'] || 100);
const MAIN = path.resolve(args.main || path.join(L.ROOT, 'dist/src/main.js'));
const extraEnv = Object.fromEntries(
  (args['app-env'] || '')
    .split(',')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);

function log(...a) {
  console.error(`[flood ${new Date().toISOString().slice(11, 19)}]`, ...a);
}

/** 3 500 fields, ≈ 63 KB: what the review sent. */
const BIG_XML = `<xml>${Array.from({ length: 3500 }, (_, i) => `<F${String(i).padStart(4, '0')}>abc</F${String(i).padStart(4, '0')}>`).join('')}</xml>`;

function cannon(opts) {
  return new Promise((resolve, reject) => {
    const inst = autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
    inst.on('error', () => undefined);
  });
}

function creditsLoad(url, clientId) {
  let ip = 0;
  return cannon({
    url,
    connections: 8,
    overallRate: CREDITS_RATE,
    duration: DURATION,
    requests: [
      {
        method: 'GET',
        path: `/api/v1/user/credits?client_id=${encodeURIComponent(clientId)}`,
        setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'x-forwarded-for': L.clientIp(ip++) } }),
      },
    ],
  });
}

function flood(url) {
  let n = 0;
  const statuses = {};
  const run = cannon({
    url,
    connections: 16,
    overallRate: FLOOD_RATE,
    duration: DURATION,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        setupRequest: (req) => {
          const i = n++;
          if (i % 2 === 1) return { ...req, path: L.NOTIFY_PATH, body: BIG_XML };
          const q = new URLSearchParams({
            signature: 'f'.repeat(40),
            timestamp: String(Math.floor(Date.now() / 1000)),
            nonce: `n${i}`,
            encrypt_type: 'aes',
            msg_signature: 'e'.repeat(40),
          });
          return { ...req, path: `${L.VERIFY_PATH}?${q}`, body: BIG_XML };
        },
        onResponse: (status) => {
          statuses[status] = (statuses[status] || 0) + 1;
        },
      },
    ],
  });
  return run.then((r) => ({ ...r, statuses }));
}

const lat = (r) =>
  `p50 ${r.latency.p50} ms, p90 ${r.latency.p90} ms, p99 ${r.latency.p99} ms, ${r.requests.total} requests, ${r.non2xx} non-2xx, ${r.errors} errors`;

async function main() {
  const db = await L.createDatabase('bench_flood');
  let app;
  try {
    app = await L.startApp({ database: db, main: MAIN, extraEnv });
    const bound = await L.seedBoundUser(db, 'F');
    log(`app ${path.relative(L.ROOT, MAIN) || MAIN} on ${app.url}; body ${BIG_XML.length} bytes; load ${L.loadAvg()}`);
    await creditsLoad(app.url, bound.clientId); // warm-up, unreported
    const alone = await creditsLoad(app.url, bound.clientId);
    log(`credits alone:       ${lat(alone)}`);
    const cpu0 = L.cpuMsOf(app.pid);
    const [during, f] = await Promise.all([creditsLoad(app.url, bound.clientId), flood(app.url)]);
    const cpuMs = L.cpuMsOf(app.pid) - cpu0;
    log(`credits under flood: ${lat(during)}`);
    log(
      `flood: ${f.requests.total} requests at ${FLOOD_RATE}/s, statuses ${JSON.stringify(f.statuses)}, flood p50 ${f.latency.p50} ms; app CPU ${(cpuMs / DURATION / 10).toFixed(0)} % during the flood phase`,
    );
    console.log(
      `| ${path.basename(path.dirname(path.dirname(path.dirname(MAIN))))} | ${alone.latency.p50} / ${alone.latency.p99} | ${during.latency.p50} / ${during.latency.p99} | ${JSON.stringify(f.statuses)} | ${(cpuMs / DURATION / 10).toFixed(0)} % |`,
    );
  } finally {
    if (app) await app.child.stop('SIGTERM');
    app?.cleanup();
    await L.dropDatabase(db).catch(() => undefined);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
