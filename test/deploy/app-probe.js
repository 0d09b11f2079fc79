/**
 * Test-only preload for the spawned service (`NODE_OPTIONS=--require …/app-probe.js`): for every
 * request that carries `X-Deploy-Probe`, appends one JSON line to $DEPLOY_PROBE_FILE with what
 * Express itself concluded — `req.ip`, `req.protocol`, `req.secure`, `req.hostname` — under the
 * app's real `trust proxy` setting (TRUST_PROXY), once the response is finished. It changes no
 * behaviour of the app; it only lets test/deploy observe what the app saw behind the proxy.
 */
'use strict';
const http = require('node:http');
const fs = require('node:fs');

const file = process.env.DEPLOY_PROBE_FILE;
if (file) {
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function probeEmit(event, req, res) {
    if (event === 'request' && req.headers['x-deploy-probe']) {
      res.once('finish', () => {
        const record = {
          probe: String(req.headers['x-deploy-probe']),
          role: process.env.APP_ROLE || 'all',
          port: Number(process.env.APP_PORT),
          pid: process.pid,
          method: req.method,
          path: String(req.originalUrl || req.url || '').split('?')[0],
          status: res.statusCode,
          // Express's own view, through the getters of its request prototype (every request the app's
          // server builds has it, src/common/express.adapter.ts, the callback lane's too).
          ip: req.ip,
          protocol: req.protocol,
          secure: req.secure,
          hostname: req.hostname,
          // The raw material it was computed from.
          socket: req.socket && req.socket.remoteAddress,
          host: req.headers.host,
          xff: req.headers['x-forwarded-for'],
          xfp: req.headers['x-forwarded-proto'],
          xfh: req.headers['x-forwarded-host'],
        };
        try {
          fs.appendFileSync(file, JSON.stringify(record) + '\n');
        } catch {
          /* the probe must never break the app */
        }
      });
    }
    return emit.apply(this, arguments);
  };
}
