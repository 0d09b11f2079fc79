import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Express } from 'express';
import finalhandler from 'finalhandler';

/** What this file uses of Express 5's router (the `router` package) layers and routes. */
interface Layer {
  handle: (...args: unknown[]) => unknown;
  route?: Route;
  match(path: string): false | { path: string; keys: string[] };
  handleRequest(req: IncomingMessage, res: ServerResponse, next: Next): void;
  handleError(err: unknown, req: IncomingMessage, res: ServerResponse, next: Next): void;
}
interface Route {
  path: unknown;
  _methods(): string[];
  _handlesMethod(method: string): boolean;
}
type Next = (err?: unknown) => void;
type ExpressInternals = { router: { stack: Layer[] }; request: object; response: object };
type Dispatched = IncomingMessage & {
  res?: ServerResponse;
  next?: Next;
  route?: Route;
  baseUrl?: string;
  originalUrl?: string;
  params?: object;
};

/**
 * Express's routing, worked out once for the app's fixed paths.
 *
 * For every request Express 5's router walks its whole stack (88 layers in production): it tries each
 * layer's pattern on the path, allocates a match for every middleware, builds closures, and only
 * then reaches the route — about 12 KB of garbage and a tenth of the CPU of `GET /user/credits`
 * (docs/performance.md). For a route with a fixed path (no parameters), which layers match is
 * decided by the path alone, so it is worked out here at start-up: the middleware and routes
 * Express would run for `METHOD /path`, in its order. A request whose method and path (exactly as
 * registered; the query aside) are in the index runs that list; any other request goes to Express.
 *
 * The list runs as Express runs it: the same request and response objects (Express's prototypes,
 * `req.res`, `res.locals`, `req.route`, `req.params`), `next()` to the following layer,
 * `next(err)` to the following error handlers, `next('route')` past the route, and Express's
 * final handler at the end. A path is left to Express when anything on it depends on more than
 * the path: a middleware mounted below the root (it would rewrite `req.url`) or a route with
 * parameters that takes the path first. OPTIONS is always Express's (it builds the `Allow` answer
 * from every route).
 */
export function indexFixedRoutes(app: Express): Map<string, Layer[]> {
  const internals = app as unknown as ExpressInternals;
  const stack = internals.router.stack;
  const index = new Map<string, Layer[]>();
  const paths = new Set(stack.map((l) => l.route?.path).filter((p): p is string => typeof p === 'string'));
  for (const path of paths) {
    const matching = stack.filter((l) => l.match(path));
    if (matching.some((l) => !l.route && (l.match(path) as { path: string }).path !== '')) continue; // a mounted middleware
    const methods = new Set(matching.flatMap((l) => l.route?._methods() ?? []));
    methods.delete('OPTIONS');
    for (const method of methods) {
      // Express's choice: the first route of the path that handles the method (for HEAD, the first
      // route of the path: it lets the route decide), then any later one, if the first calls next().
      const dispatched = (l: Layer) => method === 'HEAD' || l.route!._handlesMethod(method);
      const chain = matching.filter((l) => !l.route || dispatched(l));
      const routes = chain.filter((l) => l.route);
      if (routes.length === 0 || routes.some((l) => (l.match(path) as { keys: string[] }).keys.length > 0)) continue; // parameters: Express's
      index.set(`${method} ${path}`, chain);
    }
  }
  return index;
}

/**
 * Puts the index in front of the server's request listener (Express, or a lane in front of it):
 * indexed requests run their precomputed list, every other request goes on unchanged. Call after
 * `app.init()`, when every route and middleware is registered.
 */
export function serveFixedRoutesFirst(server: Server, app: Express): void {
  const listeners = server.listeners('request') as RequestListener[];
  if (listeners.length !== 1) throw new Error(`route index: expected one request listener, found ${listeners.length}`);
  const [fallback] = listeners;
  const index = indexFixedRoutes(app);
  const internals = app as unknown as ExpressInternals;
  const env = app.get('env') as string;
  const poweredBy = app.enabled('x-powered-by');
  // Express's own `logerror` for its final handler.
  const logError = (err: Error) => {
    if (env !== 'test') console.error(err.stack ?? String(err));
  };

  server.removeListener('request', fallback);
  server.on('request', (req: Dispatched, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const chain = index.get(`${req.method} ${q < 0 ? url : url.slice(0, q)}`);
    if (!chain) return fallback(req, res);
    // What app.handle does before its router. (The app's server builds requests and responses with
    // these prototypes already, common/express.adapter.ts; then setting them again costs nothing.)
    if (poweredBy) res.setHeader('X-Powered-By', 'Express');
    req.res = res;
    (res as ServerResponse & { req?: IncomingMessage }).req = req;
    Object.setPrototypeOf(req, internals.request);
    Object.setPrototypeOf(res, internals.response);
    const withLocals = res as ServerResponse & { locals?: object };
    if (!withLocals.locals) withLocals.locals = Object.create(null) as object;
    // What the router sets for a root-level layer.
    req.baseUrl = '';
    req.originalUrl = req.originalUrl || url;
    req.params = {};
    // Express's final handler (404 / error page), built only if the list runs out.
    const done = (err: unknown) => finalhandler(req, res, { env, onerror: logError })(err);
    let i = 0;
    const next: Next = (err) => {
      if (err === 'router') return setImmediate(done, null);
      let error = err === 'route' ? undefined : err;
      for (;;) {
        const layer = chain[i++];
        if (!layer) return setImmediate(done, error);
        if (layer.route) {
          if (error) continue; // routes do not run with a pending error
          req.route = layer.route;
          req.params = {};
          return layer.handleRequest(req, res, next);
        }
        try {
          return error ? layer.handleError(error, req, res, next) : layer.handleRequest(req, res, next);
        } catch (thrown) {
          error = thrown; // Layer catches its handler's throws; this is belt and braces
        }
      }
    };
    req.next = next;
    next();
  });
}
