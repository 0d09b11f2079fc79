'use strict';
/**
 * Where the app allocates per request: runs the built app in this process on a fresh MySQL
 * database, drives one row with autocannon from a child process, and samples allocations with
 * V8's sampling heap profiler *including objects already collected* (what GC pressure is made of).
 *   npm run build && node bench/alloc-profile.js [verify|credits] [seconds]
 */
const inspector = require('node:inspector');
const { fork } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const L = require('./lib');

if (process.argv[2] === '--load') {
  const autocannon = require('autocannon');
  // Clients spread over 4096 addresses, as in npm run bench: one address would grow the rate
  // limiter's per-address list to every request of the run and profile that instead.
  let i = 0;
  autocannon(
    {
      url: process.argv[3],
      connections: 64,
      duration: Number(process.argv[4]),
      requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'x-forwarded-for': L.clientIp(i++) } }) }],
    },
    (e, r) => process.send(e ? 0 : r.requests.total),
  );
  return;
}

const row = process.argv[2] || 'verify';
const seconds = Number(process.argv[3] || 5);

async function main() {
  require('reflect-metadata');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'alloc-'));
  process.chdir(dataDir);
  const { loadConfig } = require('../dist/src/config/load-config');
  const { createApp } = require('../dist/src/app.setup');
  const db = await L.createDatabase('bench_alloc');
  const port = await L.freePort();
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DB_TYPE: 'mysql',
      MYSQL_HOST: L.MYSQL.host,
      MYSQL_PORT: String(L.MYSQL.port),
      MYSQL_USER: L.MYSQL.user,
      MYSQL_PASSWORD: L.MYSQL.password,
      MYSQL_DATABASE: db,
      WECHAT_TOKEN: L.KEYS.token,
      WECHAT_APPID: L.KEYS.appId,
      WECHAT_PAY_MCHID: L.KEYS.mchId,
      WECHAT_PAY_API_KEY: L.KEYS.payKey,
      SESSION_SECRET: L.KEYS.sessionSecret,
      DATA_DIR: dataDir,
      DOCS_ENABLED: 'false',
      RATE_LIMIT_PER_MINUTE: '100000',
      APP_PORT: String(port),
    },
    { cwd: dataDir },
  );
  const app = await createApp(config);
  await app.listen(port, '127.0.0.1');
  try {
    const bound = await L.seedBoundUser(db, 'P');
    const session = new inspector.Session();
    session.connect();
    const post = (m, p) => new Promise((res, rej) => session.post(m, p, (e, r) => (e ? rej(e) : res(r))));
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    const url = `http://127.0.0.1:${port}${row === 'credits' ? `/api/v1/user/credits?client_id=${bound.clientId}` : `${L.VERIFY_PATH}?${L.verifyQuery()}`}`;
    const total = await new Promise((res) => fork(__filename, ['--load', url, String(seconds)]).on('message', res));
    const { profile } = await post('HeapProfiler.stopSampling');
    const byPkg = new Map();
    const byFn = new Map();
    let sum = 0;
    const walk = (n) => {
      const cf = n.callFrame;
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(cf.url);
      const pkg = m
        ? m[1]
        : cf.url.startsWith('node:')
          ? cf.url
          : cf.url.includes('/dist/src/')
            ? `app:${cf.url.split('/dist/src/')[1]}`
            : cf.url || '(native)';
      if (n.selfSize) {
        sum += n.selfSize;
        byPkg.set(pkg, (byPkg.get(pkg) || 0) + n.selfSize);
        const k = `${cf.functionName || '(anonymous)'}  ${pkg}:${cf.lineNumber + 1}`;
        byFn.set(k, (byFn.get(k) || 0) + n.selfSize);
      }
      n.children.forEach(walk);
    };
    walk(profile.head);
    const kb = (b) => (b / total / 1024).toFixed(2).padStart(7) + ' KB';
    console.log(`${row}: ${total} requests, ${(sum / total / 1024).toFixed(1)} KB allocated per request (sampled)\n\nBy package:`);
    for (const [k, v] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`${kb(v)}  ${k}`);
    console.log('\nBy function:');
    for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${kb(v)}  ${k}`);
  } finally {
    await app.close();
    await L.dropDatabase(db);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
