import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express, Response } from 'express';
import * as http from 'node:http';
import * as https from 'node:https';

/** The Content-Type of every JSON answer the service writes itself, as Express writes it. */
export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Nest's Express adapter with two per-request costs of Express taken out, neither visible from
 * outside (docs/performance.md, changes 15 and 21).
 *
 * **Requests born Express's.** For every request Express 5 re-points the prototype of Node's request
 * and response objects at its own (`Object.setPrototypeOf(req, app.request)` in `app.handle`). V8
 * cannot reuse the shapes of an object whose prototype changed after it was built: every property
 * Express, Nest and Node add to those two objects afterwards builds new hidden classes: 16 KB of
 * garbage and about half of the CPU of a `GET /api/v1/user/credits` (measured). Here the server
 * builds them with Express's prototypes from the start (`http.createServer`'s `IncomingMessage` and
 * `ServerResponse` options, `expressMessageClasses`), so Express's `setPrototypeOf` finds the
 * prototype already set and does nothing.
 *
 * **Plain JSON answers without `res.json`.** Express's `res.json` → `res.send` re-reads three app
 * settings, parses and re-formats the Content-Type to add its charset, looks up the ETag function,
 * checks freshness and turns the text into a Buffer that Node then writes as a second chunk; profiled
 * at about a tenth of `GET /api/v1/user/credits`. The answer here is byte for byte what Express sent
 * with this app's settings (ETag off, no JSON replacer, spaces or escaping): the status, the same
 * `Content-Type` and `Content-Length`, `JSON.stringify` of the body, headers and body in one write;
 * Node leaves the body out of a HEAD answer as Express did. Everything else — no body, strings,
 * class instances, streams, errors, 204/304, a Content-Type a controller set itself — goes through
 * Nest's own `reply`.
 */
export class AppExpressAdapter extends ExpressAdapter {
  override initHttpServer(options: NestApplicationOptions): void {
    const app = this.getInstance<Express>();
    const classes = expressMessageClasses(app);
    this.httpServer = options?.httpsOptions
      ? https.createServer({ ...options.httpsOptions, ...classes }, app)
      : http.createServer(classes, app);
    if (options?.forceCloseConnections) (this as unknown as { trackOpenConnections(): void }).trackOpenConnections();
  }

  override reply(response: Response, body: unknown, statusCode?: number): unknown {
    const status = statusCode ?? response.statusCode;
    if (!isPlainJson(body) || status === 204 || status === 304 || response.getHeader('Content-Type') !== undefined) {
      return super.reply(response, body, statusCode);
    }
    const text = JSON.stringify(body);
    response.statusCode = status;
    response.setHeader('Content-Type', JSON_TYPE);
    response.setHeader('Content-Length', Buffer.byteLength(text));
    return response.end(text);
  }
}

/**
 * Request and response classes for Node's server whose instances are born with `app`'s prototypes.
 * A class's prototype cannot be replaced, so the app's prototypes are replaced by the classes' own,
 * made the same: each inherits from Express's (`express.request` / `express.response`, and so from
 * Node's) and carries what `app.request` and `app.response` held (the `app` property Express gives
 * them). Call it before anything keeps a reference to the two objects it replaces. A sub-app mounted
 * below still re-points a request at its own prototypes, as Express does.
 */
export function expressMessageClasses(app: Express): Required<Pick<http.ServerOptions, 'IncomingMessage' | 'ServerResponse'>> {
  class ExpressRequest extends http.IncomingMessage {}
  class ExpressResponse extends http.ServerResponse {}
  for (const [cls, key] of [
    [ExpressRequest, 'request'],
    [ExpressResponse, 'response'],
  ] as const) {
    const current = app[key] as object;
    Object.setPrototypeOf(cls.prototype, Object.getPrototypeOf(current) as object);
    Object.defineProperties(cls.prototype, Object.getOwnPropertyDescriptors(current));
    (app as unknown as Record<string, object>)[key] = cls.prototype;
  }
  return { IncomingMessage: ExpressRequest, ServerResponse: ExpressResponse as typeof http.ServerResponse };
}

function isPlainJson(body: unknown): body is object {
  if (body === null || typeof body !== 'object') return false;
  if (Array.isArray(body)) return true;
  const proto = Object.getPrototypeOf(body) as unknown;
  return proto === Object.prototype || proto === null;
}
