import { createServer, request, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallbackRequest, CallbackRoute } from './callback-http';
import { serveCallbacksFirst } from './callback-lane';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request over a real socket; `body` sent as one piece with its Content-Length unless `chunked`. */
function send(port: number, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('serveCallbacksFirst', () => {
  let server: Server;
  let port: number;
  const seen: CallbackRequest[] = [];
  const passedOn: string[] = [];
  const instrumented: string[] = [];

  const routes: CallbackRoute[] = [
    {
      method: 'GET',
      path: '/api/v1/auth/wechat/verify',
      summary: '',
      handle: (r) => ({ status: 200, contentType: 'text/plain', body: String(r.query.echostr) }),
    },
    {
      method: 'POST',
      path: '/api/v1/payment/notify',
      summary: '',
      handle: (r) => {
        seen.push(r);
        if (r.query.fail === 'sync') throw new Error('handler broke');
        if (r.query.fail === 'async') return Promise.reject(new Error('handler broke later'));
        return Promise.resolve(
          r.query.v3 ? { status: 204 } : { status: 200, contentType: 'text/xml', body: `<xml>${r.body.length}</xml>` },
        );
      },
    },
  ];

  beforeAll(async () => {
    // Stands in for Express: whatever it answers is what the lane passed on.
    server = createServer((req, res) => {
      passedOn.push(`${req.method} ${req.url}`);
      res.statusCode = 404;
      res.end('express');
    });
    serveCallbacksFirst(server, routes, {
      bodyLimitBytes: 1024,
      everyRequest: (req, res, route) => {
        instrumented.push(`${req.method} ${route}`);
        res.setHeader('X-Instrumented', route);
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  beforeEach(() => {
    seen.length = 0;
    passedOn.length = 0;
    instrumented.length = 0;
  });

  it('answers its routes itself, with the query, headers and exact body bytes; everything else goes to Express', async () => {
    const body = Buffer.from([0x3c, 0x78, 0xff, 0x00, 0x3e]); // not valid UTF-8: must arrive byte for byte
    const a = await send(port, 'POST', '/api/v1/payment/notify?x=1&x=2', body, { 'X-Test': 'yes' });
    expect(a).toMatchObject({ status: 200, body: '<xml>5</xml>' });
    expect(a.headers['content-type']).toBe('text/xml');
    expect(a.headers['x-instrumented']).toBe('/api/v1/payment/notify');
    expect(seen[0].body.equals(body)).toBe(true);
    expect(seen[0].query).toEqual({ x: ['1', '2'] });
    expect(seen[0].headers['x-test']).toBe('yes');

    expect((await send(port, 'GET', '/api/v1/user/credits?client_id=a')).body).toBe('express');
    expect((await send(port, 'POST', '/api/v1/payment/notify-not')).body).toBe('express');
    expect(passedOn).toEqual(['GET /api/v1/user/credits?client_id=a', 'POST /api/v1/payment/notify-not']);
    expect(instrumented).toEqual(['POST /api/v1/payment/notify']);
  });

  it('matches as Express did: any case, one trailing slash; HEAD is GET without a body; another method is 405', async () => {
    expect((await send(port, 'GET', '/API/V1/Auth/WeChat/Verify/?echostr=hi')).body).toBe('hi');
    const head = await send(port, 'HEAD', '/api/v1/auth/wechat/verify?echostr=hi');
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-length']).toBe('2');
    for (const method of ['PUT', 'DELETE', 'OPTIONS', 'GET']) {
      const r = await send(port, method, '/api/v1/payment/notify');
      expect({ method, status: r.status, body: JSON.parse(r.body) as unknown }).toEqual({
        method,
        status: 405,
        body: { detail: 'Method Not Allowed' },
      });
    }
    expect((await send(port, 'GET', '/api/v1/auth/wechat/verify//')).body).toBe('express');
    expect(instrumented).toEqual(expect.arrayContaining(['GET /api/v1/auth/wechat/verify', 'PUT /api/v1/payment/notify']));
  });

  it('a body over the limit is 413 whether declared or chunked, and the handler never runs; a Content-Encoding is 415', async () => {
    const big = Buffer.alloc(64 * 1024, 'a');
    const declared = await send(port, 'POST', '/api/v1/payment/notify', big);
    expect({ status: declared.status, body: JSON.parse(declared.body) as unknown }).toEqual({
      status: 413,
      body: { detail: '请求体过大' },
    });
    const chunked = await send(port, 'POST', '/api/v1/payment/notify', big, { 'Transfer-Encoding': 'chunked' });
    expect(chunked.status).toBe(413);
    expect((await send(port, 'POST', '/api/v1/payment/notify', Buffer.alloc(1024, 'a'))).body).toBe('<xml>1024</xml>');
    const gz = await send(port, 'POST', '/api/v1/payment/notify', Buffer.from('x'), { 'Content-Encoding': 'gzip' });
    expect({ status: gz.status, body: JSON.parse(gz.body) as unknown }).toEqual({
      status: 415,
      body: { detail: 'unsupported content encoding' },
    });
    expect(seen).toHaveLength(1);
  });

  it('a bodiless answer is sent bare; a handler that throws, now or later, is a 500 detail', async () => {
    const done = await send(port, 'POST', '/api/v1/payment/notify?v3=1', Buffer.from('{}'));
    expect(done).toMatchObject({ status: 204, body: '' });
    expect(done.headers['content-type']).toBeUndefined();
    for (const fail of ['sync', 'async']) {
      const r = await send(port, 'POST', `/api/v1/payment/notify?fail=${fail}`, Buffer.from('<xml/>'));
      expect({ status: r.status, body: JSON.parse(r.body) as unknown }).toEqual({ status: 500, body: { detail: '服务器内部错误' } });
    }
  });

  it('refuses to mount over anything but exactly one request listener', () => {
    expect(() => serveCallbacksFirst(createServer(), routes, { bodyLimitBytes: 1, everyRequest: () => undefined })).toThrow(
      /one request listener/,
    );
  });
});
