import type { Response } from 'express';

/** What a sandbox service answers; controllers only write it out. */
export interface SandboxReply {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings and Buffers as they are. */
  body?: unknown;
  /** A redirect target (302). */
  redirect?: string;
}

export function sendReply(res: Response, reply: SandboxReply): void {
  if (reply.redirect) {
    res.redirect(reply.status || 302, reply.redirect);
    return;
  }
  res.status(reply.status);
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  if (reply.body === undefined || reply.body === '') {
    res.end();
  } else if (typeof reply.body === 'string' || Buffer.isBuffer(reply.body)) {
    if (!res.getHeader('Content-Type')) res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(reply.body);
  } else {
    if (!res.getHeader('Content-Type')) res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(reply.body));
  }
}

export function json(body: unknown, status = 200): SandboxReply {
  return { status, body };
}

export function html(body: string, status = 200): SandboxReply {
  return { status, body, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' } };
}
