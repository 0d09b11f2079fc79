import { IncomingMessage, request, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type Request, type Response } from 'express';
import { AppExpressAdapter } from './express.adapter';

interface Raw {
  status: number;
  type?: string;
  length?: string;
  body: string;
}

function get(port: number, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers['content-type'],
          length: res.headers['content-length'],
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    })
      .on('error', reject)
      .end();
  });
}

class Dto {
  constructor(readonly detail = 'x') {}
}

/** What controllers return, in every shape the adapter takes or hands back to Nest. */
const BODIES: Record<string, { body: unknown; status?: number; presetType?: string }> = {
  object: { body: { success: true, total_credits: 10, member_expire_at: null, nested: { a: [1, 'é', '中文'] } } },
  array: { body: [{ id: 1 }, { id: 2, at: new Date('2026-12-07T00:00:00Z') }] },
  created: { body: { order_no: 'WX1' }, status: 201 },
  emptyObject: { body: {} },
  withToJson: { body: { toJSON: () => ({ replaced: true }) } },
  classInstance: { body: new Dto() },
  string: { body: 'plain text' },
  none: { body: undefined },
  noContent: { body: { ignored: true }, status: 204 },
  presetType: { body: { a: 1 }, presetType: 'text/plain; charset=utf-8' },
};

describe('AppExpressAdapter', () => {
  let server: Server;
  let port: number;
  let app: Express;
  /** The prototypes of each request and response as the server built them, before Express ran. */
  const born: { req: object | null; res: object | null }[] = [];

  beforeAll(async () => {
    // Two routes per case on one Express app with the app's settings: Nest's own reply (Express's
    // res.json / res.send) and this adapter's. Their answers must be the same bytes. The server is
    // the adapter's own, as Nest starts it.
    const adapter = new AppExpressAdapter();
    app = adapter.getInstance<Express>();
    app.disable('x-powered-by');
    app.set('etag', false);
    adapter.initHttpServer({});
    server = adapter.getHttpServer();
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      born.push({ req: Object.getPrototypeOf(req) as object | null, res: Object.getPrototypeOf(res) as object | null });
    });
    app.get('/express-features', (req: Request, res: Response) => {
      res.status(201).json({ app: req.app === app, header: req.get('x-probe'), query: req.query, path: req.path });
    });
    const nest = Object.getPrototypeOf(AppExpressAdapter.prototype) as { reply(res: Response, body: unknown, status?: number): unknown };
    for (const [name, c] of Object.entries(BODIES)) {
      const handle = (reply: (res: Response, body: unknown, status?: number) => unknown) => (_req: Request, res: Response) => {
        if (c.presetType) res.setHeader('Content-Type', c.presetType);
        reply(res, c.body, c.status ?? 200);
      };
      app.all(
        `/express/${name}`,
        handle((res, body, status) => nest.reply.call(adapter, res, body, status)),
      );
      app.all(
        `/lean/${name}`,
        handle((res, body, status) => adapter.reply(res, body, status)),
      );
    }
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise((r) => server.close(r)));

  it.each(Object.keys(BODIES))('%s: the same status, Content-Type, Content-Length and body as Express', async (name) => {
    for (const method of ['GET', 'HEAD']) {
      const [express, lean] = await Promise.all([get(port, `/express/${name}`, method), get(port, `/lean/${name}`, method)]);
      expect({ method, ...lean }).toEqual({ method, ...express });
    }
  });

  it('a plain object is answered as JSON with its charset; Express 5 agrees', async () => {
    const r = await get(port, '/lean/object');
    expect(r).toMatchObject({ status: 200, type: 'application/json; charset=utf-8', length: String(Buffer.byteLength(r.body)) });
    expect(JSON.parse(r.body)).toEqual(JSON.parse(JSON.stringify(BODIES.object.body)));
  });

  it("builds every request and response with the app's prototypes, so Express never re-points them", async () => {
    born.length = 0;
    await get(port, '/lean/object');
    await get(port, '/no-such-route');
    expect(born).toEqual([
      { req: app.request, res: app.response },
      { req: app.request, res: app.response },
    ]);
    // Still Express's and Node's underneath: what is added to express.request reaches every request.
    expect(Object.getPrototypeOf(app.request)).toBe(express.request);
    expect(Object.getPrototypeOf(app.response)).toBe(express.response);
    expect(app.request).toBeInstanceOf(IncomingMessage);
    expect(app.response).toBeInstanceOf(ServerResponse);
  });

  it("keeps what Express's prototypes give a route: req.app, req.get, req.query, req.path, res.status().json", async () => {
    const r = await get(port, '/express-features?a=1', 'GET', { 'x-probe': 'p' });
    expect(r.status).toBe(201);
    expect(JSON.parse(r.body)).toEqual({ app: true, header: 'p', query: { a: '1' }, path: '/express-features' });
  });
});
