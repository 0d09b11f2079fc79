// Allocation profile of the app in-process (sampling heap profiler incl. collected objects).
process.chdir('/tmp/bx');
require('reflect-metadata');
const inspector = require('node:inspector');
const { fork } = require('node:child_process');
const L = require('./lib');
const { loadConfig } = require('../dist/src/config/load-config');
const { createApp } = require('../dist/src/app.setup');
const row = process.argv[2] || 'verify';
(async () => {
  const db = await L.createDatabase('bench_alloc');
  const port = await L.freePort();
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'warn', DB_TYPE: 'mysql', MYSQL_DATABASE: db, WECHAT_TOKEN: L.KEYS.token, WECHAT_APPID: L.KEYS.appId, WECHAT_PAY_MCHID: L.KEYS.mchId, WECHAT_PAY_API_KEY: L.KEYS.payKey, SESSION_SECRET: L.KEYS.sessionSecret, DATA_DIR: '/tmp/bx/data', DOCS_ENABLED: 'false', RATE_LIMIT_PER_MINUTE: '100000', APP_PORT: String(port) }, { cwd: '/tmp/bx' });
  const app = await createApp(config);
  await app.listen(port, '127.0.0.1');
  const bound = await L.seedBoundUser(db, 'P');
  const s = new inspector.Session();
  s.connect();
  const post = (m, p) => new Promise((res, rej) => s.post(m, p, (e, r) => (e ? rej(e) : res(r))));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const path = row === 'credits' ? `/api/v1/user/credits?client_id=${bound.clientId}` : `${L.VERIFY_PATH}?${L.verifyQuery()}`;
  const total = await new Promise((res) => {
    const c = fork(__dirname + '/.alloc-load.js', [`http://127.0.0.1:${port}${path}`]);
    c.on('message', res);
  });
  const { profile } = await post('HeapProfiler.stopSampling');
  const by = new Map(), byFn = new Map();
  let sum = 0;
  const walk = (n, stack) => {
    const cf = n.callFrame;
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(cf.url);
    const pkg = m ? m[1] : cf.url.startsWith('node:') ? cf.url : cf.url.includes('/dist/src/') ? 'app:' + cf.url.split('/dist/src/')[1] : cf.url || '(native)';
    if (n.selfSize) {
      sum += n.selfSize;
      by.set(pkg, (by.get(pkg) || 0) + n.selfSize);
      const k = `${cf.functionName || '(anon)'} ${pkg}:${cf.lineNumber + 1}`;
      byFn.set(k, (byFn.get(k) || 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, stack);
  };
  walk(profile.head, []);
  console.log(row, total, 'requests;', (sum / total / 1024).toFixed(1), 'KB allocated per request (sampled)');
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 22)) console.log(((v / total) / 1024).toFixed(2).padStart(7), 'KB', k);
  console.log('--');
  for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(((v / total) / 1024).toFixed(2).padStart(7), 'KB', k);
  await app.close();
  await L.dropDatabase(db);
  process.exit(0);
})();
