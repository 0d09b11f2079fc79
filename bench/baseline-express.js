'use strict';
/**
 * Baseline 1: a minimal Express 5 + mysql2 server doing exactly the app's per-request work
 * (bench/baseline-core.js). The yardstick of docs/quality.md: the app must reach ≥ 0.7× of it.
 * Express 5 resolves through @nestjs/platform-express (a dependency of the app).
 */
const express = require('express');
const core = require('./baseline-core');

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
// As the app (TRUST_PROXY=loopback): req.ip is the client behind lighttpd on the same host.
app.set('trust proxy', 'loopback');

const raw = express.raw({ type: () => true, limit: '64kb' });
const send = (res, r) =>
  res
    .status(r.status)
    .type(r.type)
    .set(r.headers || {})
    .send(r.body);
const wrap = (fn) => async (req, res) => send(res, await fn(req));

app.get('/api/v1/auth/wechat/verify', (req, res) => send(res, core.verify(req.query)));
app.post(
  '/api/v1/auth/wechat/verify',
  raw,
  wrap((req) => core.push(req.query, Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0))),
);
app.post(
  '/api/v1/payment/notify',
  raw,
  wrap((req) => core.notify(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0))),
);
app.get(
  '/api/v1/user/credits',
  wrap((req) => core.credits(req.query, req.ip)),
);
app.get(
  '/api/v1/health',
  wrap(() => core.health()),
);
app.use((err, _req, res, _next) => {
  if (err && err.type === 'entity.too.large') return res.status(413).json({ detail: '请求体过大' });
  return res.status(400).json({ detail: 'bad request' });
});

const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`baseline-express on ${process.env.PORT}`));
process.once('SIGTERM', () => server.close(() => core.close().finally(() => process.exit(0))));
