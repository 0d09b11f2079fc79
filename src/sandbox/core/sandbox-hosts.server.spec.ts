import { sandboxPathFor } from './sandbox-hosts.server';

describe('sandboxPathFor (the hosts listener routing)', () => {
  it.each([
    ['/cgi-bin/token?grant_type=client_credential', '/sandbox/api/cgi-bin/token?grant_type=client_credential'],
    ['/cgi-bin/qrcode/create?access_token=t', '/sandbox/api/cgi-bin/qrcode/create?access_token=t'],
    ['/sns/oauth2/access_token?code=c', '/sandbox/api/sns/oauth2/access_token?code=c'],
    ['/cgi-bin/showqrcode?ticket=x', '/sandbox/mp/cgi-bin/showqrcode?ticket=x'],
    ['/connect/oauth2/authorize?appid=a', '/sandbox/open/connect/oauth2/authorize?appid=a'],
    ['/pay/unifiedorder', '/sandbox/pay/pay/unifiedorder'],
    ['/secapi/pay/refund', '/sandbox/pay/secapi/pay/refund'],
    ['/v3/pay/transactions/out-trade-no/N1?mchid=1', '/sandbox/pay/v3/pay/transactions/out-trade-no/N1?mchid=1'],
    ['/cgi-bin/showqrcodes', '/sandbox/api/cgi-bin/showqrcodes'],
    ['/sandbox', '/sandbox'],
    ['/sandbox/actions/pay', '/sandbox/actions/pay'],
  ])('%s → %s', (wire, mounted) => {
    expect(sandboxPathFor(wire)).toBe(mounted);
  });

  it.each(['/', '/api/v1/health', '/wechat/member.html', '/docs', '/sandboxes', '/cgi-bin', '/v3'])(
    '%s is not a WeChat API here',
    (wire) => {
      expect(sandboxPathFor(wire)).toBeNull();
    },
  );
});
