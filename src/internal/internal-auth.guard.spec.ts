import type { ExecutionContext } from '@nestjs/common';
import { Clock } from '../common/clock';
import { DomainError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { InternalAuthGuard } from './internal-auth.guard';
import { internalSignature } from '../common/internal-signature';

const SECRET = 'guard-spec-secret-0123456789abcdef';
const NOW = 1_750_000_000;
const TARGET = '/api/v1/internal/user/create-or-update';

class FixedClock extends Clock {
  nowMs(): number {
    return NOW * 1000;
  }
}

const guard = new InternalAuthGuard({ internal: { secret: SECRET } } as AppConfig, new FixedClock());

/** A request as Express hands it to the guard, signed over `signedBody`. */
function request(opts: { signedBody: string; headers?: Record<string, string>; rawBody?: Buffer; contentType?: string }) {
  const headers: Record<string, string> = {
    'x-internal-timestamp': String(NOW),
    'x-internal-signature': internalSignature(SECRET, 'POST', TARGET, String(NOW), opts.signedBody),
    ...(opts.headers ?? {}),
  };
  const type = opts.contentType ?? 'application/json';
  return { method: 'POST', originalUrl: TARGET, headers, rawBody: opts.rawBody, is: (t: string) => (type.startsWith(t) ? t : false) };
}

function outcome(req: unknown): unknown {
  const ctx = { switchToHttp: () => ({ getRequest: () => req }) } as unknown as ExecutionContext;
  try {
    return guard.canActivate(ctx);
  } catch (err) {
    return err instanceof DomainError ? err.status : err;
  }
}

describe('InternalAuthGuard', () => {
  const body = '{"openid":"oGuard0001","source":"subscribe"}';

  it('passes a JSON body signed over its exact raw bytes', () => {
    expect(outcome(request({ signedBody: body, headers: { 'content-length': String(body.length) }, rawBody: Buffer.from(body) }))).toBe(
      true,
    );
  });

  it('refuses a body whose raw bytes were not kept, even when signed over the empty body (401)', () => {
    expect(outcome(request({ signedBody: '', headers: { 'content-length': String(body.length) } }))).toBe(401);
    expect(outcome(request({ signedBody: '', headers: { 'transfer-encoding': 'chunked' } }))).toBe(401);
  });

  it('refuses a body that is not application/json (415)', () => {
    const form = 'openid=oGuard0002&source=subscribe';
    expect(
      outcome(
        request({ signedBody: '', headers: { 'content-length': String(form.length) }, contentType: 'application/x-www-form-urlencoded' }),
      ),
    ).toBe(415);
  });

  it('a request without a body is signed over the empty body', () => {
    expect(outcome(request({ signedBody: '' }))).toBe(true);
  });
});
