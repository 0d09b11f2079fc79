import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { AppConfig } from '../config/app-config';
import { REDACT_PATHS, redactUrl } from './redact';

/** pino: pretty in development, JSON in production; secrets redacted; callback queries dropped. */
export function loggerParams(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.log.level,
      transport: config.log.pretty ? { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } } : undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { role: config.role, pid: process.pid },
      serializers: {
        req: (req: IncomingMessage & { id?: unknown; raw?: IncomingMessage }) => ({
          id: req.id,
          method: req.method,
          url: redactUrl(req.url ?? ''),
          remoteAddress: req.socket?.remoteAddress,
        }),
        res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      // Health probes would drown everything else.
      autoLogging: { ignore: (req: IncomingMessage) => req.url === '/api/v1/health' },
    },
  };
}
