import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import express, { NextFunction, Request, Response } from 'express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { DETAIL } from './common/errors';
import { JsonTooDeepError, jsonNestsDeeperThan } from './common/json-depth';
import { AppExpressAdapter } from './common/express.adapter';
import { requestLogging } from './common/logger';
import { serveFixedRoutesFirst } from './common/route-index';
import { buildValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { MetricsService } from './metrics/metrics.service';
import { serveCallbacksFirst } from './wechat-callback/callback-lane';
import { CallbackRoutes } from './wechat-callback/callback-routes';

/**
 * The prefixes answered with `Cache-Control: no-store` (personal data, orders, sessions): matched as
 * Express mounts them, case-insensitively, on a path segment boundary.
 */
const NO_STORE_PATHS = /^\/api\/v1\/(?:user|payment\/orders|auth)(?:\/|$)/i;

/** JSON and form API bodies are capped at 64 KiB; callback bodies have their own, smaller cap (CALLBACK_BODY_LIMIT). */
export const BODY_LIMIT = '64kb';

/**
 * Builds the Nest application for a validated config: shared by main.ts and the e2e factory so
 * tests run exactly what production runs.
 */
export async function createApp(config: AppConfig): Promise<NestExpressApplication> {
  // Nest's Express adapter, its requests born with Express's prototypes and a shorter way out for
  // plain JSON answers (common/express.adapter.ts).
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config), new AppExpressAdapter(), {
    bufferLogs: true,
    bodyParser: false,
    abortOnError: false, // throw instead of process.exit: main.ts exits 1, tests see the error
  });
  configureApp(app, config);
  await app.init();
  // Requests for a fixed path skip Express's walk of its whole stack (common/route-index.ts); in
  // front of the callback lane, which is in front of Express.
  serveFixedRoutesFirst(app.getHttpServer(), app.getHttpAdapter().getInstance());
  return app;
}

function configureApp(app: NestExpressApplication, config: AppConfig): void {
  app.useLogger(app.get(Logger));
  app.set('trust proxy', config.http.trustProxy);
  app.disable('x-powered-by');
  app.set('etag', false);

  // What every request gets, in one step (each Express layer costs a match, closures and a call):
  // its duration by route pattern (never the raw URL: ids and tokens would become labels), and
  // no-store on personal data and sessions, never cached by WeChat's webview or a proxy (docs/api.md).
  const durations = app.get(MetricsService).httpDurations;
  const instrument = (req: IncomingMessage, res: ServerResponse, path: string, route: () => string) => {
    const end = durations.startTimer();
    res.on('finish', () => end({ method: req.method, route: route(), status: String(res.statusCode) }));
    if (NO_STORE_PATHS.test(path)) res.setHeader('Cache-Control', 'no-store');
  };
  const logRequest = requestLogging();

  // WeChat's callback URLs are served before Express ever sees them (wechat-callback/callback-lane.ts,
  // docs/architecture.md "The callback lane"), with the same metrics, headers and request lines;
  // CALLBACK_BODY_LIMIT caps their raw bodies.
  const callbacks = app.get(CallbackRoutes).routes;
  serveCallbacksFirst(app.getHttpServer(), callbacks, {
    bodyLimitBytes: config.inbound.callbackBodyLimitBytes,
    everyRequest: (req, res, pattern) => {
      instrument(req, res, pattern, () => pattern);
      logRequest(req, res, () => undefined);
    },
  });

  app.use((req: Request, res: Response, next: NextFunction) => {
    instrument(req, res, req.path, () => {
      // Express types `req.route` as any; the matched route's path is its pattern string.
      const pattern = (req.route as { path?: string } | undefined)?.path;
      return pattern ? `${req.baseUrl ?? ''}${pattern}` : 'unmatched';
    });
    next();
  });

  // `rawBody` keeps the exact bytes for code that verifies signatures over a JSON body; the nesting
  // depth is checked on those bytes before JSON.parse (docs/limits.md).
  const { jsonMaxDepth } = config.inbound;
  const keepRaw = (req: Request & { rawBody?: Buffer }, _res: Response, buf: Buffer) => {
    if (jsonNestsDeeperThan(buf, jsonMaxDepth)) throw new JsonTooDeepError(jsonMaxDepth);
    req.rawBody = buf;
  };
  if (config.wechat.sandbox) {
    // The simulator speaks WeChat Pay v2 (XML) and verifies v3 signatures over raw bytes. Like WeChat,
    // its v2 API reads the XML whatever the Content-Type (tenpay sends application/x-www-form-urlencoded).
    app.use(['/sandbox/pay/pay', '/sandbox/pay/secapi'], express.raw({ type: () => true, limit: '1mb' }));
    app.use('/sandbox', express.raw({ type: ['text/xml', 'application/xml'], limit: '1mb' }));
    app.use('/sandbox', express.json({ limit: '1mb', verify: keepRaw }));
  }
  // JSON and form bodies in one layer; a request without a body (every GET) skips both parsers — the
  // same test body-parser makes first (type-is `hasBody`), without entering them.
  const json = express.json({ limit: BODY_LIMIT, verify: keepRaw });
  const form = express.urlencoded({ extended: false, limit: BODY_LIMIT });
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.headers['transfer-encoding'] === undefined && Number.isNaN(Number(req.headers['content-length']))) return next();
    json(req, res, (err?: unknown) => (err ? next(err) : form(req, res, next)));
  });
  // Parser errors (too large, malformed JSON) get the API's error shape, not Express's HTML page.
  const bodyLogger = new NestLogger('RequestBody');
  app.use((err: { type?: string; status?: number; message?: string }, req: Request, res: Response, next: NextFunction) => {
    if (!err) return next();
    if (err.type === 'entity.too.large') return res.status(413).json({ detail: DETAIL.tooLarge });
    if (err.type === 'entity.too.deep') {
      bodyLogger.warn(`${req.method} ${req.path} refused (400): ${err.message}`);
      return res.status(400).json({ detail: `body: JSON nested deeper than ${jsonMaxDepth} levels` });
    }
    if (err.type === 'entity.parse.failed') return res.status(400).json({ detail: 'body: invalid JSON' });
    return res.status(err.status && err.status < 500 ? err.status : 400).json({ detail: 'bad request' });
  });

  app.useGlobalFilters(new AllExceptionsFilter(routeProbe(app)));
  app.useGlobalPipes(buildValidationPipe());

  if (config.http.docsEnabled && config.role !== 'web') {
    const doc = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('WeChat membership & payments')
        .setDescription('Public API of the official account backend (see docs/api.md)')
        .setVersion(config.version)
        .addBearerAuth()
        .build(),
    );
    // The callback lane's URLs are not Nest routes; the document lists them all the same.
    for (const r of callbacks) {
      doc.paths[r.path] = {
        ...doc.paths[r.path],
        [r.method.toLowerCase()]: {
          tags: ['wechat callbacks'],
          summary: r.summary,
          responses: { 200: { description: "WeChat's own formats (docs/callbacks.md)" } },
        },
      };
    }
    SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs/openapi.json' });
  }

  // Request logging (common/logger.ts) last, where nestjs-pino mounted pino-http: after the parsers
  // (their 400/413 answers are not request lines) and the docs, before every route.
  app.use(logRequest);
}

/** True when `path` is served under another method: the filter answers 405 instead of 404. */
function routeProbe(app: NestExpressApplication) {
  type Layer = { route?: { methods: Record<string, boolean> }; match(path: string): boolean };
  return (method: string, path: string): boolean => {
    const router = (app.getHttpAdapter().getInstance() as unknown as { router?: { stack: Layer[] } }).router;
    const m = method.toLowerCase();
    return (router?.stack ?? []).some((l) => l.route && !l.route.methods[m] && !l.route.methods._all && l.match(path));
  };
}
