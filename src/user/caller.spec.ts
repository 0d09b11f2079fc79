import { Controller, Get, INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AllExceptionsFilter } from '../common/all-exceptions.filter';
import { CurrentCaller, RequireCaller } from './caller';
import type { Caller } from './caller-identity.service';
import { CallerIdentityService, CallerRequiredError } from './caller-identity.service';

/**
 * The reuse path the payment module takes: a controller in another module that imports the module
 * exporting CallerIdentityService marks routes with @RequireCaller and reads @CurrentCaller.
 */
const caller: Caller = {
  openid: 'oPayer',
  via: 'token',
  user: {
    openid: 'oPayer',
    subscribed: true,
    isMember: false,
    memberLifetime: false,
    memberExpireAt: null,
    totalCredits: 1,
    usedCredits: 0,
    remainingCredits: 1,
  },
};
const seen: Array<{ authorization?: unknown; query?: unknown; options: unknown }> = [];
const fakeIdentity = {
  resolveRequest(req: { headers: Record<string, unknown>; query?: unknown }, options: unknown): Promise<Caller> {
    seen.push({ authorization: req.headers.authorization, query: req.query, options });
    return req.headers.authorization ? Promise.resolve(caller) : Promise.reject(new CallerRequiredError());
  },
};

@Controller('orders')
class OrdersController {
  @Get('mine')
  @RequireCaller({ allowClientId: false })
  mine(@CurrentCaller() c: Caller) {
    return { openid: c.openid, via: c.via };
  }

  @Get('desk')
  @RequireCaller({ allowClientId: true })
  desk(@CurrentCaller() c: Caller) {
    return { openid: c.openid };
  }
}

@Module({ providers: [{ provide: CallerIdentityService, useValue: fakeIdentity }], exports: [CallerIdentityService] })
class IdentityModule {}

@Module({ imports: [IdentityModule], controllers: [OrdersController] })
class OrdersModule {}

describe('@RequireCaller / @CurrentCaller in another module', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const ref = await Test.createTestingModule({ imports: [OrdersModule] }).compile();
    app = ref.createNestApplication({ logger: false });
    app.useGlobalFilters(new AllExceptionsFilter());
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });

  afterAll(() => app?.close());
  beforeEach(() => (seen.length = 0));

  it("hands the resolved caller to the handler, with the route's options", async () => {
    const res = await fetch(`${url}/orders/mine`, { headers: { authorization: 'Bearer t' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ openid: 'oPayer', via: 'token' });
    expect(seen).toEqual([{ authorization: 'Bearer t', query: {}, options: { allowClientId: false } }]);
    await fetch(`${url}/orders/desk?client_id=abc`, { headers: { authorization: 'Bearer t' } });
    expect(seen[1]).toEqual({ authorization: 'Bearer t', query: { client_id: 'abc' }, options: { allowClientId: true } });
  });

  it('identity errors become the API error shape before the handler runs', async () => {
    const res = await fetch(`${url}/orders/mine`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ detail: '请先关注公众号并扫码' });
  });
});
