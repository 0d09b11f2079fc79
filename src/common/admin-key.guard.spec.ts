import type { ExecutionContext } from '@nestjs/common';
import { DomainError } from './errors';
import { SecretFailureLimiter } from './secret-failure-limiter';
import { AppConfig } from '../config/app-config';
import { AdminKeyGuard } from './admin-key.guard';

/** The brake itself is proven over HTTP (test/admin/admin-auth-brake.e2e-spec.ts); here it only asks the check. */
const openLimiter = {
  admit: (_req: unknown, _res: unknown, passed: () => boolean) => Promise.resolve(passed()),
} as unknown as SecretFailureLimiter;

function guard(apiKey: string): AdminKeyGuard {
  return new AdminKeyGuard({ admin: { apiKey } } as AppConfig, openLimiter);
}

function ctx(headers: Record<string, unknown>): ExecutionContext {
  const res = { setHeader: () => undefined };
  return { switchToHttp: () => ({ getRequest: () => ({ headers }), getResponse: () => res }) } as unknown as ExecutionContext;
}

async function outcome(g: AdminKeyGuard, headers: Record<string, unknown>): Promise<unknown> {
  try {
    return await g.canActivate(ctx(headers));
  } catch (err) {
    return err instanceof DomainError ? { status: err.status, detail: err.detail } : err;
  }
}

describe('AdminKeyGuard', () => {
  it('with no key configured, refuses everything with 403 管理接口未启用', async () => {
    for (const headers of [{}, { 'x-admin-key': '' }, { 'x-admin-key': 'anything' }]) {
      expect(await outcome(guard(''), headers)).toEqual({ status: 403, detail: '管理接口未启用' });
    }
  });

  it.each([
    ['missing', {}],
    ['empty', { 'x-admin-key': '' }],
    ['wrong', { 'x-admin-key': 'not-the-key' }],
    ['a prefix', { 'x-admin-key': 'admin-key-0123' }],
    ['longer', { 'x-admin-key': 'admin-key-0123456789X' }],
    ['repeated header', { 'x-admin-key': ['admin-key-0123456789', 'admin-key-0123456789'] }],
  ])('a %s key is 401 管理密钥错误', async (_name, headers) => {
    expect(await outcome(guard('admin-key-0123456789'), headers)).toEqual({ status: 401, detail: '管理密钥错误' });
  });

  it('the configured key passes', async () => {
    expect(await outcome(guard('admin-key-0123456789'), { 'x-admin-key': 'admin-key-0123456789' })).toBe(true);
  });
});
