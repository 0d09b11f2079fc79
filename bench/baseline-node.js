'use strict';
/**
 * Baseline 2: a minimal `node:http` + mysql2 server doing exactly the app's per-request work
 * (bench/baseline-core.js): the physical reference of docs/quality.md.
 */
const http = require('node:http');
const core = require('./baseline-core');

const LIMIT = 64 * 1024;

function send(res, r) {
  const body = Buffer.from(r.body, 'utf8');
  res.writeHead(r.status, { 'Content-Type': r.type, 'Content-Length': body.length, ...r.headers });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    let size = 0;
    let over = false;
    req.on('data', (c) => {
      size += c.length;
      if (size > LIMIT) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)));
    req.on('error', () => resolve(null));
  });
}

const server = http.createServer(async (req, res) => {
  const q = req.url.indexOf('?');
  const path = q === -1 ? req.url : req.url.slice(0, q);
  const query = q === -1 ? {} : Object.fromEntries(new URLSearchParams(req.url.slice(q + 1)));
  try {
    if (path === '/api/v1/auth/wechat/verify' && req.method === 'GET') return send(res, core.verify(query));
    if (path === '/api/v1/user/credits' && req.method === 'GET')
      return send(res, await core.credits(query, req.socket.remoteAddress, req.headers['x-forwarded-for']));
    if (path === '/api/v1/health') return send(res, await core.health());
    if (req.method === 'POST' && (path === '/api/v1/auth/wechat/verify' || path === '/api/v1/payment/notify')) {
      const body = await readBody(req);
      if (body === null) return send(res, { status: 413, type: 'application/json', body: '{"detail":"请求体过大"}' });
      return send(res, path === '/api/v1/payment/notify' ? await core.notify(body) : await core.push(query, body));
    }
    send(res, { status: 404, type: 'application/json', body: '{"detail":"Not Found"}' });
  } catch {
    send(res, { status: 500, type: 'application/json', body: '{"detail":"error"}' });
  }
});
server.keepAliveTimeout = 5000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`baseline-node on ${process.env.PORT}`));
process.once('SIGTERM', () => server.close(() => core.close().finally(() => process.exit(0))));
