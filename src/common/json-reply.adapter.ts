import { ExpressAdapter } from '@nestjs/platform-express';
import type { Response } from 'express';

/** The Content-Type of every JSON answer the service writes itself, as Express writes it. */
export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Nest's Express adapter, with a shorter way out for the common answer: a controller's plain object
 * or array. Express's `res.json` → `res.send` re-reads three app settings, parses and re-formats the
 * Content-Type to add its charset, looks up the ETag function, checks freshness and turns the text
 * into a Buffer that Node then writes as a second chunk; profiled at about a tenth of a
 * `GET /api/v1/user/credits` (docs/performance.md). The answer here is byte for byte what Express
 * sent with this app's settings (ETag off, no JSON replacer, spaces or escaping): the status, the
 * same `Content-Type` and `Content-Length`, `JSON.stringify` of the body, headers and body in one
 * write; Node leaves the body out of a HEAD answer as Express did.
 *
 * Everything else — no body, strings, class instances, streams, errors, 204/304, a Content-Type a
 * controller set itself — goes through Nest's own `reply`.
 */
export class JsonReplyAdapter extends ExpressAdapter {
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

function isPlainJson(body: unknown): body is object {
  if (body === null || typeof body !== 'object') return false;
  if (Array.isArray(body)) return true;
  const proto = Object.getPrototypeOf(body) as unknown;
  return proto === Object.prototype || proto === null;
}
