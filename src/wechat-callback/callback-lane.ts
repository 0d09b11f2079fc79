import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { Logger } from '@nestjs/common';
import { DETAIL } from '../common/errors';
import { markChosen500 } from '../common/logger';
import { CallbackReply, CallbackRequest, CallbackRoute, detailReply } from './callback-http';

export interface CallbackLaneOptions {
  /** CALLBACK_BODY_LIMIT: a larger body is 413 before a byte of it is parsed. */
  readonly bodyLimitBytes: number;
  /**
   * What every request of the service gets, from app.setup: its duration metric under `route`,
   * Cache-Control where it applies, its request line. Called first, for every request the lane takes.
   */
  readonly everyRequest: (req: IncomingMessage, res: ServerResponse, route: string) => void;
}

/**
 * Serves WeChat's callback URLs (docs/architecture.md "The callback lane") on the HTTP server
 * itself, before Express: a request for one of `routes` never enters Express or Nest's router; every
 * other request goes to Express as before.
 *
 * Why: these four URLs are where WeChat's traffic lands (retries and duplicate storms included) and
 * need none of what the framework offers — no DTO, guard, pipe, session or cookie: a fixed protocol,
 * its exact bytes, an answer in WeChat's format. Express 5's per-request work alone costs as much CPU
 * as the rest of a duplicate notification (docs/performance.md).
 *
 * Matched as Express matched them: case-insensitively, one trailing slash allowed, query ignored; a
 * GET route answers HEAD; another method on a callback path is 405. The body is read raw, up to the
 * limit (413 `请求体过大` beyond it), never decoded (a Content-Encoding is 415). A handler that throws
 * is a 500 `{"detail": …}` with its stack in the log, as the global filter would do.
 */
export function serveCallbacksFirst(server: Server, routes: readonly CallbackRoute[], opts: CallbackLaneOptions): void {
  const listeners = server.listeners('request') as RequestListener[];
  if (listeners.length !== 1) throw new Error(`callback lane: expected Express as the one request listener, found ${listeners.length}`);
  const [express] = listeners;
  const byPath = new Map<string, { path: string; methods: Map<string, CallbackRoute> }>();
  for (const r of routes) {
    const key = r.path.toLowerCase();
    const entry = byPath.get(key) ?? { path: r.path, methods: new Map<string, CallbackRoute>() };
    entry.methods.set(r.method, r);
    if (r.method === 'GET') entry.methods.set('HEAD', r);
    byPath.set(key, entry);
  }
  const logger = new Logger('CallbackLane');

  server.removeListener('request', express);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    let path = q < 0 ? url : url.slice(0, q);
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    const entry = byPath.get(path.toLowerCase());
    if (!entry) return express(req, res);
    opts.everyRequest(req, res, entry.path);
    const route = entry.methods.get(req.method ?? '');
    if (!route) return write(res, detailReply(405, DETAIL.methodNotAllowed));
    const query = q < 0 ? {} : parseQuery(url.slice(q + 1));
    if (route.method === 'GET') return answer(route, { query, headers: req.headers, body: EMPTY }, res, logger);
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      return write(res, detailReply(415, 'unsupported content encoding'));
    }
    readBody(req, opts.bodyLimitBytes, (body) => {
      if (body === TOO_LARGE) write(res, detailReply(413, DETAIL.tooLarge));
      else if (body) answer(route, { query, headers: req.headers, body }, res, logger);
      // else: the client went away mid-body; nobody is left to answer.
    });
  });
}

const EMPTY = Buffer.alloc(0);
const TOO_LARGE = Symbol('too large');

/**
 * The whole body; TOO_LARGE when it exceeds `limit` (declared or counted), answered only after the
 * rest has been read off and dropped, as body-parser does, so the client can read its 413 instead of
 * a broken pipe; null when the client went away mid-body.
 */
function readBody(req: IncomingMessage, limit: number, done: (body: Buffer | typeof TOO_LARGE | null) => void): void {
  const chunks: Buffer[] = [];
  let size = Number(req.headers['content-length']) > limit ? limit + 1 : 0;
  let finished = false;
  const finish = (body: Buffer | typeof TOO_LARGE | null) => {
    if (finished) return;
    finished = true;
    done(body);
  };
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  });
  req.once('end', () => finish(size > limit ? TOO_LARGE : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
  // After 'end' this is a no-op; without it, the client went away mid-body.
  req.once('close', () => finish(null));
  req.once('error', () => finish(null));
}

function answer(route: CallbackRoute, req: CallbackRequest, res: ServerResponse, logger: Logger): void {
  const failed = (err: unknown) => {
    logger.error(`${route.method} ${route.path} failed: ${(err as Error)?.stack ?? String(err)}`);
    write(res, detailReply(500, DETAIL.internal));
  };
  try {
    const reply = route.handle(req);
    if (reply instanceof Promise) reply.then((r) => write(res, r), failed);
    else write(res, reply);
  } catch (err) {
    failed(err);
  }
}

function write(res: ServerResponse, reply: CallbackReply): void {
  if (res.headersSent || res.destroyed) return;
  if (reply.chosen500) markChosen500(res);
  res.statusCode = reply.status;
  if (reply.contentType === undefined) {
    res.end();
    return;
  }
  const body = Buffer.from(reply.body ?? '', 'utf8');
  res.setHeader('Content-Type', reply.contentType);
  res.setHeader('Content-Length', body.length);
  res.end(body);
}
