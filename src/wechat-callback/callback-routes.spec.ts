import { CALLBACK_PATHS, redactUrl } from '../common/redact';
import { CallbackRoutes } from './callback-routes';
import type { PayNotificationHandler } from './pay-notification.handler';
import type { ServerUrlEndpoint } from './server-url.endpoint';

describe('CallbackRoutes', () => {
  const { routes } = new CallbackRoutes({} as ServerUrlEndpoint, {} as PayNotificationHandler);

  it('every callback URL is one whose query string the logs drop (its query is the credential)', () => {
    expect([...new Set(routes.map((r) => r.path))].sort()).toEqual([...CALLBACK_PATHS].sort());
    for (const r of routes) expect(redactUrl(`${r.path}?signature=s&echostr=e&sign=x`)).toBe(`${r.path}?[redacted]`);
  });

  it('is the four routes of docs/callbacks.md, one per method and path', () => {
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/v1/auth/wechat/verify',
      'POST /api/v1/auth/wechat/verify',
      'POST /api/v1/payment/notify',
      'POST /api/v1/payment/refund-notify',
    ]);
  });
});
