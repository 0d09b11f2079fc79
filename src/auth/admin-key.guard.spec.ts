import type { ExecutionContext } from '@nestjs/common';
import { DomainError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { AdminKeyGuard } from './admin-key.guard';

function guard(apiKey: string): AdminKeyGuard {
  return new AdminKeyGuard({ admin: { apiKey } } as AppConfig);
}

function ctx(headers: Record<string, unknown>): ExecutionContext {
  return { switchToHttp: () => ({ getRequest: () => ({ headers }) }) } as unknown as ExecutionContext;
}

function outcome(g: AdminKeyGuard, headers: Record<string, unknown>): unknown {
  try {
    return g.canActivate(ctx(headers));
  } catch (err) {
    return err instanceof DomainError ? { status: err.status, detail: err.detail } : err;
  }
}

describe('AdminKeyGuard', () => {
  it('with no key configured, refuses everything with 403 管理接口未启用', () => {
    for (const headers of [{}, { 'x-admin-key': '' }, { 'x-admin-key': 'anything' }]) {
      expect(outcome(guard(''), headers)).toEqual({ status: 403, detail: '管理接口未启用' });
    }
  });

  it.each([
    ['missing', {}],
    ['empty', { 'x-admin-key': '' }],
    ['wrong', { 'x-admin-key': 'not-the-key' }],
    ['a prefix', { 'x-admin-key': 'admin-key-0123' }],
    ['longer', { 'x-admin-key': 'admin-key-0123456789X' }],
    ['repeated header', { 'x-admin-key': ['admin-key-0123456789', 'admin-key-0123456789'] }],
  ])('a %s key is 401 管理密钥错误', (_name, headers) => {
    expect(outcome(guard('admin-key-0123456789'), headers)).toEqual({ status: 401, detail: '管理密钥错误' });
  });

  it('the configured key passes', () => {
    expect(outcome(guard('admin-key-0123456789'), { 'x-admin-key': 'admin-key-0123456789' })).toBe(true);
  });
});
