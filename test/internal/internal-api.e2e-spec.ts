import { DatabaseService } from '../../src/database/database.service';
import { InternalApi } from '../../src/internal/internal-api';
import { HttpInternalApi } from '../../src/internal/internal-api.http';
import { LocalInternalApi } from '../../src/internal/internal-api.local';
import { dbKinds, startApp, startAppOnFreshDb, TestApp } from '../setup/test-app';
import { CONTRACT_OPERATOR, ContractSubject, internalApiContract } from '../support/internal-api.contract';

const SECRET = 'internal-contract-secret-0123456789';

describe.each(dbKinds())('InternalApi contract [%s]', (kind) => {
  let appServer: TestApp;
  let webServer: TestApp;

  beforeAll(async () => {
    appServer = await startAppOnFreshDb(kind, { APP_ROLE: 'app', INTERNAL_API_SECRET: SECRET, ADMIN_OPENIDS: CONTRACT_OPERATOR });
    webServer = await startApp({ APP_ROLE: 'web', INTERNAL_API_SECRET: SECRET, INTERNAL_API_BASE_URL: appServer.url });
  });

  afterAll(async () => {
    await webServer?.close();
    await appServer?.close();
  });

  const ds = () => appServer.app.get(DatabaseService).dataSource;

  describe('local adapter (in-process)', () => {
    let subject: ContractSubject;
    beforeAll(() => {
      const api = appServer.app.get(InternalApi);
      expect(api).toBeInstanceOf(LocalInternalApi);
      subject = { api, ds: ds() };
    });
    internalApiContract(() => subject);
  });

  describe('HTTP adapter (a web-role instance calling the app server)', () => {
    let subject: ContractSubject;
    beforeAll(() => {
      const api = webServer.app.get(InternalApi);
      expect(api).toBeInstanceOf(HttpInternalApi);
      subject = { api, ds: ds() };
    });
    internalApiContract(() => subject);
  });
});
