import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ModuleRef } from '@nestjs/core';
import { DatabaseService } from '../../src/database/database.service';
import globalSetup from '../setup/global-setup';
import { mysqlEnabled } from '../setup/mysql';
import { baseEnv, freePort, ROOT, spawnApp, startApp, TestDatabase, tempDir } from '../setup/test-app';

const run = promisify(execFile);
const SECRET = 'internal-secret-0123456789abcdef';

describe('role web', () => {
  it('opens no database connection and reports the app server as unreachable (degraded, 200)', async () => {
    // MySQL settings point at a port nobody listens on: any connection attempt would fail loudly.
    const web = await startApp({
      APP_ROLE: 'web',
      DB_TYPE: 'mysql',
      MYSQL_PORT: '1',
      INTERNAL_API_SECRET: SECRET,
      INTERNAL_API_BASE_URL: `http://127.0.0.1:${await freePort()}`,
    });
    try {
      // Asked of the module graph (the application object would also log the miss as an error).
      expect(() => web.app.get(ModuleRef).get(DatabaseService, { strict: false })).toThrow();
      const res = await fetch(`${web.url}/api/v1/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'degraded', database: 'not_used', app_server: 'unreachable', role: 'web' });
      // Only callbacks and health: the user API and docs are not served by the web role.
      expect((await fetch(`${web.url}/docs`)).status).toBe(404);
    } finally {
      await web.close();
    }
  });
});

describe('built service process', () => {
  it('SIGTERM: a request in flight completes, then the process exits 0', async () => {
    const app = await spawnApp({ DB_TYPE: 'sqlite', SQLITE_PATH: join(tempDir(), 'a.sqlite') }, { waitHealthy: true });
    // Hold a request open across the signal: headers sent, body still streaming.
    const { port } = new URL(app.url);
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: '/api/v1/slow-upload', headers: { 'content-type': 'application/json' } },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      req.write('{"part":');
      setTimeout(() => {
        void app.stop('SIGTERM');
        setTimeout(() => req.end('"two"}'), 500);
      }, 200);
    });
    const res = await response;
    expect(res).toEqual({ status: 404, body: JSON.stringify({ detail: 'Not Found' }) });
    expect(await app.stop()).toBe(0);
    await expect(fetch(`${app.url}/api/v1/health`)).rejects.toThrow();
  });

  it('an invalid variable stops the process with one line naming it', async () => {
    const env = baseEnv(await freePort(), { APP_ROLE: 'worker' });
    const err = await run(process.execPath, [join(ROOT, 'dist/src/main.js')], { env: { PATH: process.env.PATH!, ...env } }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err!.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^Invalid configuration: APP_ROLE /)]);
  });

  it('production refuses to start with a guessable admin key (ADMIN_API_KEY=a): one line naming it', async () => {
    const env = baseEnv(await freePort(), {
      NODE_ENV: 'production',
      WECHAT_SANDBOX: 'false',
      PUBLIC_BASE_URL: 'https://www.example.com',
      WECHAT_APPID: 'wx1234567890abcdef',
      WECHAT_SECRET: 'abcdefabcdefabcdefabcdefabcdef12',
      WECHAT_TOKEN: 'prodtoken',
      WECHAT_PAY_MCHID: '1230000109',
      WECHAT_PAY_API_KEY: 'A'.repeat(32),
      SESSION_SECRET: 's'.repeat(40),
      ADMIN_API_KEY: 'a',
    });
    const err = await run(process.execPath, [join(ROOT, 'dist/src/main.js')], { env: { PATH: process.env.PATH!, ...env } }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err!.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^Invalid configuration: ADMIN_API_KEY .*32/)]);
  });

  it('logs are JSON outside development and never contain callback queries, tokens or full ids', async () => {
    const app = await spawnApp({ LOG_LEVEL: 'info', DB_TYPE: 'sqlite', SQLITE_PATH: join(tempDir(), 'l.sqlite') }, { waitHealthy: true });
    try {
      await fetch(`${app.url}/api/v1/auth/wechat/verify?signature=SIGSECRET123&timestamp=1&nonce=NONCESECRET&echostr=ECHOSECRET`);
      await fetch(`${app.url}/api/v1/nothing?client_id=PC_1730000000000_abcdefgh&code=OAUTHCODESECRET`, {
        headers: { authorization: 'Bearer JWTSECRETVALUE', 'x-admin-key': 'ADMINKEYSECRET' },
      });
    } finally {
      await app.stop();
    }
    const lines = app
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    const out = app.output();
    for (const secret of [
      'SIGSECRET123',
      'NONCESECRET',
      'ECHOSECRET',
      'OAUTHCODESECRET',
      'JWTSECRETVALUE',
      'ADMINKEYSECRET',
      'PC_1730000000000_abcdefgh',
      'test-session-secret',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('/api/v1/auth/wechat/verify?[redacted]');
  });
});

(mysqlEnabled() ? describe : describe.skip)('npm run migration:run on the built output [mysql]', () => {
  it('applies the history once, then reports nothing pending', async () => {
    const db = await TestDatabase.create('mysql');
    try {
      const env = { PATH: process.env.PATH!, ...baseEnv(await freePort(), { ...db.env, SESSION_SECRET: 'x'.repeat(40) }) };
      const first = await run('npm', ['run', '--silent', 'migration:run'], { cwd: ROOT, env });
      expect(first.stdout).toContain('applied: InitialSchema1732000000000');
      const second = await run('npm', ['run', '--silent', 'migration:run'], { cwd: ROOT, env });
      expect(second.stdout).toContain('no pending migrations');
    } finally {
      await db.drop();
    }
  });
});

describe('the MySQL policy of the test run', () => {
  it('with CI=true an unreachable MySQL fails the run instead of skipping', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { CI: 'true', TEST_MYSQL_PORT: '1' });
    jest.resetModules();
    try {
      // Re-import so the MYSQL target picks up the unreachable port.
      const { default: setup } = await import('../setup/global-setup');
      await expect(setup()).rejects.toThrow(/CI=true/);
    } finally {
      process.env = saved;
      jest.resetModules();
    }
    expect(typeof globalSetup).toBe('function');
  });
});
