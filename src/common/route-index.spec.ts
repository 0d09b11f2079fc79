import { createServer, request, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { Express, NextFunction, Request, Response } from 'express';
import { indexFixedRoutes, serveFixedRoutesFirst } from './route-index';

/** An Express app with every shape the index must treat as Express does. */
function buildApp(): Express {
  const app = express(); // x-powered-by left on: the index must send it as Express does
  app.set('etag', false);
  const trail = (res: Response, step: string) => res.setHeader('X-Trail', `${String(res.getHeader('X-Trail') ?? '')}${step};`);
  app.use((req: Request, res: Response, next: NextFunction) => {
    trail(res, `root:${req.baseUrl}:${req.originalUrl}`);
    next();
  });
  app.use('/mounted', (req: Request, res: Response, next: NextFunction) => {
    trail(res, `mounted:${req.url}`);
    next();
  });
  app.use(express.json());
  app.get('/fixed', (req: Request, res: Response) => {
    res.json({ route: 'fixed', query: req.query, params: req.params, path: req.path, routePath: (req.route as { path: string }).path });
  });
  app.post('/fixed', (req: Request, res: Response) => {
    res.status(201).json({ route: 'post fixed', body: req.body as unknown });
  });
  app.get('/mounted/page', (_req: Request, res: Response) => {
    res.json({ route: 'mounted page' });
  });
  app.get('/user/:id', (req: Request, res: Response) => {
    res.json({ route: 'param', id: req.params.id });
  });
  app.get('/user/me', (_req: Request, res: Response) => {
    res.json({ route: 'shadowed by /user/:id' });
  });
  app.get(
    '/skip',
    (_req: Request, res: Response, next: NextFunction) => {
      trail(res, 'skip-mw');
      next('route');
    },
    (_req: Request, res: Response) => {
      res.json({ route: 'skipped handler' });
    },
  );
  app.get('/skip', (_req: Request, res: Response) => {
    res.json({ route: 'second /skip route' });
  });
  app.get('/falls-through', (_req: Request, res: Response, next: NextFunction) => {
    trail(res, 'falls-through');
    next();
  });
  app.get('/fails', (_req: Request, _res: Response, next: NextFunction) => {
    next(new Error('failed on purpose'));
  });
  app.get('/throws', () => {
    throw new Error('thrown on purpose');
  });
  app.get('/exits', (_req: Request, _res: Response, next: NextFunction) => {
    next('router');
  });
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.path === '/falls-through') return res.status(404).json({ detail: 'caught after the routes' });
    next();
  });
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    if (err.message === 'failed on purpose') return res.status(502).json({ detail: err.message });
    _next(err); // to Express's final handler
  });
  return app;
}

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

function call(port: number, method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, agent: false, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const { date: _date, ...headers } = res.headers;
          let text = Buffer.concat(chunks).toString('utf8');
          // Express's development error page shows the stack, whose frames differ by design.
          if (res.statusCode === 500) [text, headers['content-length']] = [text.replace(/<br>.*<\/pre>/s, '</pre>'), 'n'];
          resolve({ status: res.statusCode ?? 0, headers, body: text });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const REQUESTS: [method: string, path: string, body?: string][] = [
  ['GET', '/fixed'],
  ['GET', '/fixed?a=1&a=2&b=x'],
  ['HEAD', '/fixed'],
  ['POST', '/fixed', '{"n":1}'],
  ['POST', '/fixed', '{"broken"'],
  ['PUT', '/fixed'],
  ['OPTIONS', '/fixed'],
  ['GET', '/FIXED'],
  ['GET', '/fixed/'],
  ['GET', '/mounted/page'],
  ['GET', '/user/me'],
  ['GET', '/user/42'],
  ['GET', '/skip'],
  ['GET', '/falls-through'],
  ['GET', '/fails'],
  ['GET', '/throws'],
  ['GET', '/exits'],
  ['GET', '/nowhere'],
];

describe('route index (Express routing worked out once for fixed paths)', () => {
  const servers: Server[] = [];
  const listen = async (server: Server) => {
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  };
  afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

  it('indexes fixed paths only, and only where nothing but the path decides', () => {
    const index = indexFixedRoutes(buildApp());
    expect([...index.keys()].sort()).toEqual(
      ['GET /fixed', 'HEAD /fixed', 'POST /fixed', 'GET /skip', 'HEAD /skip', 'GET /falls-through', 'HEAD /falls-through']
        .concat(['GET /fails', 'HEAD /fails', 'GET /throws', 'HEAD /throws', 'GET /exits', 'HEAD /exits'])
        .sort(),
    );
    // Not indexed: /mounted/page (a middleware mounted on /mounted rewrites req.url), /user/me
    // (/user/:id takes it first), /user/:id (parameters).
  });

  it('answers every request exactly as Express does, without entering its router for indexed ones', async () => {
    const plain = buildApp();
    const indexed = buildApp();
    const server = createServer(indexed);
    serveFixedRoutesFirst(server, indexed);
    const routed: string[] = [];
    const router = (indexed as unknown as { router: { handle: (req: Request, ...rest: unknown[]) => void } }).router;
    const handle = router.handle.bind(router);
    router.handle = (req: Request, ...rest: unknown[]) => {
      routed.push(`${req.method} ${req.url}`);
      handle(req, ...rest);
    };
    const [expressPort, indexedPort] = [await listen(createServer(plain)), await listen(server)];

    for (const [method, path, body] of REQUESTS) {
      const [expected, actual] = await Promise.all([call(expressPort, method, path, body), call(indexedPort, method, path, body)]);
      expect({ method, path, ...actual }).toEqual({ method, path, ...expected });
    }
    expect(routed).toEqual([
      'PUT /fixed',
      'OPTIONS /fixed',
      'GET /FIXED',
      'GET /fixed/',
      'GET /mounted/page',
      'GET /user/me',
      'GET /user/42',
      'GET /nowhere',
    ]);
  });
});
