import { MYSQL, mysqlEnabled } from '../setup/mysql';
import { TcpFaultProxy } from '../setup/tcp-fault-proxy';
import { eventually, startApp, TestDatabase } from '../setup/test-app';

const describeMysql = mysqlEnabled() ? describe : describe.skip;

/** docs/quality.md: "MySQL down at start → retries with backoff, unhealthy (503) until it is up". */
describeMysql('database outage [mysql]', () => {
  let db: TestDatabase;
  let proxy: TcpFaultProxy;

  beforeAll(async () => {
    db = await TestDatabase.create('mysql');
    proxy = new TcpFaultProxy(MYSQL.host, MYSQL.port);
    await proxy.start();
  });

  afterAll(async () => {
    await proxy?.stop();
    await db?.drop();
  });

  it('listens while MySQL is down, answers 503, connects and migrates once MySQL is back, and reports 503 again on a later outage', async () => {
    proxy.cut();
    const app = await startApp({ ...db.env, MYSQL_PORT: String(proxy.port) }, { waitForDatabase: false });
    try {
      const down = await fetch(`${app.url}/api/v1/health`);
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ status: 'unhealthy', database: 'disconnected' });

      proxy.restore();
      await eventually(async () => (await fetch(`${app.url}/api/v1/health`)).status === 200, 30_000);

      proxy.cut();
      await eventually(async () => (await fetch(`${app.url}/api/v1/health`)).status === 503, 10_000);
      proxy.restore();
      await eventually(async () => (await fetch(`${app.url}/api/v1/health`)).status === 200, 15_000);
    } finally {
      await app.close();
    }
  });
});
