/**
 * Domain errors: services throw these; one filter maps them to `{"detail": ...}` with the status.
 * The Chinese details are part of the contract (docs/api.md).
 */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

export const DETAIL = {
  unavailable: '服务暂不可用',
  internal: '服务器内部错误',
  notFound: 'Not Found',
  methodNotAllowed: 'Method Not Allowed',
  tooLarge: '请求体过大',
  rateLimited: '请求过于频繁，请稍后再试',
} as const;

/** The database (or, in role web, the app server) cannot be reached: 503, WeChat retries. */
export class ServiceUnavailableError extends DomainError {
  constructor(override readonly cause?: unknown) {
    super(503, DETAIL.unavailable);
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_WAIT_TIMEOUT',
  'SQLITE_BUSY',
  'POOL_CLOSED',
]);

/** True when an error means "the database is not there right now" rather than a bug. */
export function isDatabaseUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    const x = e as { code?: string; driverError?: unknown; cause?: unknown; message?: string; name?: string };
    if (x instanceof ServiceUnavailableError) return true;
    if (x.code && CONNECTION_CODES.has(x.code)) return true;
    if (x.name === 'ConnectionIsNotSetError' || x.name === 'CannotExecuteNotConnectedError') return true;
    if (typeof x.message === 'string' && /Pool is closed|Connection lost|connect ECONNREFUSED|closed state/i.test(x.message)) return true;
    e = x.driverError ?? x.cause;
  }
  return false;
}
