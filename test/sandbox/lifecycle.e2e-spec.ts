import { Test } from '@nestjs/testing';
import { join } from 'node:path';
import { CommonModule } from '../../src/common/common.module';
import { AppConfig } from '../../src/config/app-config';
import { ConfigModule } from '../../src/config/config.module';
import { loadConfig } from '../../src/config/load-config';
import { SandboxStore } from '../../src/sandbox/core/sandbox.store';
import { SandboxModule } from '../../src/sandbox/sandbox.module';
import { v2Sign } from '../../src/wechat/pay/crypto/v2-sign';
import { buildXml, parseWechatXml } from '../../src/wechat/xml';
import { startApp, tempDir } from '../setup/test-app';
import { app, cfg, type Fields, newOutTradeNo, OPENID, postJson, sleep, useSandboxApp } from './harness';

/** The sandbox as a module: out of the OpenAPI document, quick to shut down, impossible in production. */
useSandboxApp();

describe('lifecycle', () => {
  it('stays out of the public OpenAPI document', async () => {
    const doc = (await (await fetch(`${app.url}/docs/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/sandbox'))).toEqual([]);
  });

  it('shutdown cancels slow answers and pending notification retries at once', async () => {
    const other = await startApp({
      WECHAT_SANDBOX: 'true',
      DB_TYPE: 'sqlite',
      SQLITE_PATH: join(tempDir('wx-sandbox-db2-'), 'app.sqlite'),
    });
    const url = (p: string) => `${other.url}/sandbox${p}`;
    // A notification to a port nobody listens on: it fails and schedules retries.
    const params: Fields = {
      appid: other.config.wechat.appId,
      mch_id: other.config.pay.mchId,
      nonce_str: 'n',
      body: 'x',
      out_trade_no: newOutTradeNo(),
      total_fee: 1,
      spbill_create_ip: '127.0.0.1',
      notify_url: 'http://127.0.0.1:9/notify',
      trade_type: 'JSAPI',
      openid: OPENID,
    };
    params.sign = v2Sign(params, other.config.pay.apiKey, 'MD5');
    const placed = await parseWechatXml(
      await (
        await fetch(url('/pay/pay/unifiedorder'), { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body: buildXml(params) })
      ).text(),
    );
    const paid = await postJson(url('/actions/pay'), { prepay_id: placed.prepay_id, result: 'success' });
    expect(paid.body.notify.deliveries[0].state).toBe('pending');
    await postJson(url('/faults'), { pay: 'slow', slow_ms: 30_000 });
    const slow = fetch(url('/pay/pay/orderquery'), { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body: '<xml/>' });
    const slowOutcome = slow.then(
      () => 'answered',
      () => 'dropped',
    );
    await sleep(200);
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await slowOutcome).toBe('dropped');
  });
});

describe('production', () => {
  it('the sandbox cannot be constructed with NODE_ENV=production', async () => {
    const prod = { ...cfg, env: 'production' } as AppConfig;
    expect(() => new SandboxModule(prod)).toThrow(/production/);
    expect(() => new SandboxStore(prod)).toThrow(/production/);
    await expect(
      Test.createTestingModule({ imports: [ConfigModule.forRoot(prod), CommonModule.forRoot(), SandboxModule] }).compile(),
    ).rejects.toThrow(/production/);
    // And the configuration refuses to switch it on there in the first place.
    expect(() => loadConfig({ NODE_ENV: 'production', WECHAT_SANDBOX: 'true' }, { cwd: tempDir() })).toThrow(/WECHAT_SANDBOX/);
  });
});
