import type { IncomingHttpHeaders } from 'node:http';
import type { ParsedUrlQuery } from 'node:querystring';
import { JSON_TYPE } from '../common/express.adapter';

/** What a callback endpoint gets: the parsed query, the headers and the exact body bytes. */
export interface CallbackRequest {
  readonly query: ParsedUrlQuery;
  readonly headers: IncomingHttpHeaders;
  /** Exactly the bytes WeChat signed; empty when the request had no body. */
  readonly body: Buffer;
}

/** What it answers, in WeChat's own formats (written by callback-lane.ts, never by the global filter). */
export interface CallbackReply {
  status: number;
  /** Absent for a bodiless answer (v3 notify's 204). */
  contentType?: string;
  body?: string;
  /**
   * A 500 the service answers on purpose (WeChat Pay v3's "retry later", already explained by a
   * warn line where it was decided): its request line is a warning (common/logger.ts).
   */
  chosen500?: boolean;
}

/** One callback URL: where WeChat calls, what answers it, and its line in the OpenAPI document. */
export interface CallbackRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly summary: string;
  handle(req: CallbackRequest): CallbackReply | Promise<CallbackReply>;
}

/** `{"detail": …}` with its status: the service's one error shape. */
export function detailReply(status: number, detail: string): CallbackReply {
  return { status, contentType: JSON_TYPE, body: JSON.stringify({ detail }) };
}
