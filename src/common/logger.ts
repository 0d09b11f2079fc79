import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction } from 'express';
import { Params, PinoLogger } from 'nestjs-pino';
import type { AppConfig } from '../config/app-config';
import { REDACT_PATHS, redactUrl } from './redact';

/** Health probes would drown everything else. */
const NOT_LOGGED = '/api/v1/health';

type Level = 'info' | 'warn' | 'error';

const CHOSEN_500 = Symbol('chosen 500');
type Markable = ServerResponse & { [CHOSEN_500]?: true };

/**
 * Marks a 500 the service answers on purpose (WeChat Pay v3's "retry later", whose cause was already
 * logged where it was decided), so its request line is a warning like a 503's, not an error.
 */
export function markChosen500(res: ServerResponse): void {
  (res as Markable)[CHOSEN_500] = true;
}

/**
 * A request line's level: error only for what nobody planned (a thrown error, an unmarked 500); the
 * other 5xx are answers the service chose (502 WeChat refused, 503 database or app server down, 504,
 * a marked 500) and were already explained by one warn line where they were decided, so their
 * request line is a warning.
 */
export function levelOf(res: ServerResponse, err?: Error): Level {
  if (err || (res.statusCode === 500 && !(res as Markable)[CHOSEN_500])) return 'error';
  return res.statusCode >= 400 ? 'warn' : 'info';
}

/**
 * pino: pretty in development, JSON in production; secrets redacted; callback queries dropped.
 *
 * nestjs-pino mounts no middleware (`forRoutes: []`): it only provides the Nest logger and the
 * root pino logger built from these options. Requests are logged by `requestLogging` below, which
 * writes the very lines pino-http wrote but does the work only when a line is actually written —
 * pino-http built a serialised, redacted child logger for every request even when its line was
 * below LOG_LEVEL (profiled: about half of the CPU of a GET verify; see docs/performance.md).
 */
export function loggerParams(config: AppConfig): Params {
  return {
    forRoutes: [],
    pinoHttp: {
      level: config.log.level,
      transport: config.log.pretty ? { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } } : undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { role: config.role, pid: process.pid },
      serializers: {
        // pino-http hands this pino's own summary of the request, whose `url` is Express's `req.path`
        // (query dropped) when the request has Express's prototype, which every request of the app's
        // server has (common/express.adapter.ts). The line shows the URL as the client sent it
        // instead, redacted: `originalUrl` where Express set it (a mounted router rewrites `url`).
        req: (req: { id?: unknown; method?: string; url?: string; raw?: IncomingMessage & { originalUrl?: string } }) => ({
          id: req.id,
          method: req.method,
          url: redactUrl(req.raw?.originalUrl ?? req.raw?.url ?? req.url ?? ''),
          remoteAddress: req.raw?.socket?.remoteAddress,
        }),
        res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) => levelOf(res, err),
      autoLogging: { ignore: (req: IncomingMessage) => req.url === NOT_LOGGED },
    },
  };
}

/**
 * Request logging with pino-http's output: one line per finished request (`request completed`,
 * `request aborted` or `request errored`) with `req`, `res` and `responseTime`, at info / warn /
 * error by status, health probes skipped, request ids 1, 2, 3….
 *
 * Nest log lines written during a request do not carry the request: that needs a request store
 * (AsyncLocalStorage), and on Node 20 an active store puts a hook on every promise the process
 * creates — measured at 10–30 % of the throughput of every row of the bench (docs/performance.md).
 * The lines that matter name what they are about instead (order number, masked openid, refund number).
 */
export function requestLogging(): (req: IncomingMessage & { id?: unknown }, res: ServerResponse, next: NextFunction) => void {
  const MAX_ID = 0x7fffffff;
  let lastId = 0;
  return (req, res, next) => {
    // Before the ignore check, like pino-http: the ids of logged lines keep counting probes.
    if (!req.id) req.id = lastId = (lastId + 1) & MAX_ID;
    const root = PinoLogger.root;
    if (req.url !== NOT_LOGGED) {
      const started = Date.now();
      const done = (err?: Error) => {
        res.removeListener('close', done);
        res.removeListener('finish', done);
        res.removeListener('error', done);
        const level = levelOf(res, err);
        if (!root.isLevelEnabled(level)) return;
        const responseTime = Date.now() - started;
        if (err || res.statusCode >= 500) {
          // A real error keeps its stack; a status alone gets none (a made-up stack points nowhere).
          root[level]({ req, res, ...(err ? { err } : {}), responseTime }, 'request errored');
        } else {
          const completed = !req.readableAborted && res.writableEnded;
          root[level]({ req, res, responseTime }, completed ? 'request completed' : 'request aborted');
        }
      };
      res.on('close', done);
      res.on('finish', done);
      res.on('error', done);
    }
    next();
  };
}
