import { IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface OutgoingRequest {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs: number;
  signal?: AbortSignal;
}

const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * One HTTP exchange on a fresh connection (no keep-alive pool that could outlive the sandbox), with
 * a total deadline. Rejects on network errors, timeouts and cancellation.
 */
export function sendHttp(url: string, req: OutgoingRequest): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      reject(new Error(`invalid URL ${url}`));
      return;
    }
    const request = target.protocol === 'https:' ? httpsRequest : target.protocol === 'http:' ? httpRequest : null;
    if (!request) {
      reject(new Error(`unsupported protocol ${target.protocol}`));
      return;
    }
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
    const headers: Record<string, string> = { 'User-Agent': 'Mozilla/4.0 (WeChat sandbox)', Connection: 'close', ...(req.headers ?? {}) };
    if (body) headers['Content-Length'] = String(body.length);
    let settled = false;
    const finish = (err: Error | null, answer?: HttpAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(answer!);
    };
    const outgoing = request(target, { method: req.method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
      });
      res.on('end', () => finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (e) => finish(e));
    });
    const timer = setTimeout(() => {
      outgoing.destroy(new Error(`no answer within ${req.timeoutMs} ms`));
    }, req.timeoutMs);
    timer.unref();
    const onAbort = () => outgoing.destroy(new Error('cancelled'));
    if (req.signal?.aborted) onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    outgoing.on('error', (e) => finish(e));
    outgoing.end(body);
  });
}

/** The first `max` characters of an answer, for logs and the home page. */
export function snippet(body: Buffer | string, max = 2000): string {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
