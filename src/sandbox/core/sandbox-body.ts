import type { Request } from 'express';

const MAX_BODY_BYTES = 1024 * 1024;

export type SandboxRequest = Request & { rawBody?: Buffer };

/**
 * The exact request body bytes, whatever the Content-Type: `rawBody` kept by the JSON parser, the
 * Buffer of the XML parser, or the unread stream (WeChat does not insist on a Content-Type for its
 * JSON APIs, so neither does the sandbox).
 */
export async function rawBodyOf(req: SandboxRequest): Promise<Buffer> {
  if (req.rawBody) return req.rawBody;
  if (Buffer.isBuffer(req.body)) return req.body;
  if (req.readableEnded || req.method === 'GET' || req.method === 'HEAD') return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The JSON body: what the parser produced, else the raw bytes parsed; `undefined` when empty, `INVALID` when not JSON. */
export const INVALID_JSON = Symbol('invalid JSON');

export async function jsonBodyOf(req: SandboxRequest): Promise<unknown> {
  if (req.rawBody && req.body !== undefined && !Buffer.isBuffer(req.body)) return req.body;
  const raw = await rawBodyOf(req);
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return INVALID_JSON;
  }
}
