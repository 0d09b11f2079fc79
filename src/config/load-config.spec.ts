import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config-error';
import { loadConfig } from './load-config';

const tmp = () => mkdtempSync(join(tmpdir(), 'cfg-'));

/** A complete, valid production environment (v2 pay); each test breaks one thing. */
function prodEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    NODE_ENV: 'production',
    DB_TYPE: 'mysql',
    MYSQL_HOST: '10.0.0.2',
    MYSQL_USER: 'app',
    MYSQL_PASSWORD: 'pw',
    MYSQL_DATABASE: 'image_classifier',
    PUBLIC_BASE_URL: 'https://www.example.com',
    WECHAT_APPID: 'wx1234567890abcdef',
    WECHAT_SECRET: 'abcdefabcdefabcdefabcdefabcdef12',
    WECHAT_TOKEN: 'prodtoken',
    WECHAT_PAY_MCHID: '1230000109',
    WECHAT_PAY_API_KEY: 'A'.repeat(32),
    SESSION_SECRET: 's'.repeat(40),
    ...extra,
  };
}

function expectConfigError(env: Record<string, string | undefined>, variable: string, reason?: RegExp) {
  let caught: unknown;
  try {
    loadConfig(env, { cwd: tmp() });
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const err = caught as ConfigError;
  expect(err.variable).toBe(variable);
  // One readable line naming the variable.
  expect(err.message).not.toContain('\n');
  expect(err.message).toContain(variable);
  if (reason) expect(err.reason).toMatch(reason);
}

describe('loadConfig — defaults and modes', () => {
  it('SQLITE_PATH=:memory: is SQLite\'s in-memory database, not a file named ":memory:" in the working directory', () => {
    const cwd = tmp();
    expect(loadConfig({ SQLITE_PATH: ':memory:' }, { cwd }).db.sqlitePath).toBe(':memory:');
    expect(loadConfig({ SQLITE_PATH: 'memory.sqlite' }, { cwd }).db.sqlitePath).toBe(join(cwd, 'memory.sqlite'));
  });
  it('development with no environment: SQLite, sandbox on, sandbox base URLs on the app port', () => {
    const cwd = tmp();
    const c = loadConfig({}, { cwd });
    expect(c.env).toBe('development');
    expect(c.role).toBe('all');
    expect(c.db.type).toBe('sqlite');
    expect(c.db.sqlitePath).toBe(join(cwd, 'data/app.sqlite'));
    expect(c.http).toMatchObject({
      host: '127.0.0.1',
      port: 8000,
      workers: 1,
      trustProxy: 'loopback',
      publicBaseUrl: 'http://127.0.0.1:8000',
    });
    expect(c.wechat.sandbox).toBe(true);
    expect(c.wechat.apiBase).toBe('http://127.0.0.1:8000/sandbox/api');
    expect(c.pay.base).toBe('http://127.0.0.1:8000/sandbox/pay');
    expect(c.wechat.appId).toMatch(/^wx/);
    expect(c.pay.notifyUrl).toBe('http://127.0.0.1:8000/api/v1/payment/notify');
    expect(c.internal.transport).toBe('local');
    expect(c.http.docsEnabled).toBe(true);
    expect(c.pricing).toMatchObject({
      memberPriceFen: 2990,
      initialCredits: 10,
      memberBonusCredits: 10,
      memberDurationDays: 0,
      orderTtlMinutes: 30,
    });
    expect(c.pricing.priceLists).toEqual({ PROD: {}, TEST: {} }); // payment's defaults apply (price-list.spec.ts)
    expect(c.wechat.texts.welcome).toBe('欢迎关注！您已获得{credits}张图片编辑额度。');
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('development generates the session secret once into data/session-secret (0600) and reuses it', () => {
    const cwd = tmp();
    const a = loadConfig({}, { cwd });
    const b = loadConfig({}, { cwd });
    const file = join(cwd, 'data/session-secret');
    expect(a.session.secret).toHaveLength(64);
    expect(b.session.secret).toBe(a.session.secret);
    expect(readFileSync(file, 'utf8')).toBe(a.session.secret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('test mode has no sandbox unless asked, and real WeChat hosts by default', () => {
    const c = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(32) }, { cwd: tmp() });
    expect(c.wechat.sandbox).toBe(false);
    expect(c.wechat.apiBase).toBe('https://api.weixin.qq.com');
    expect(c.pay.base).toBe('https://api.mch.weixin.qq.com');
    expect(c.log.pretty).toBe(false);
  });

  it('an explicitly set WeChat base URL wins over the sandbox default', () => {
    const c = loadConfig(
      { WECHAT_API_BASE: 'http://127.0.0.1:9999/sandbox/api/', WECHAT_PAY_BASE: 'http://127.0.0.1:9999/sandbox/pay' },
      { cwd: tmp() },
    );
    expect(c.wechat.sandbox).toBe(true);
    expect(c.wechat.apiBase).toBe('http://127.0.0.1:9999/sandbox/api');
    expect(c.pay.base).toBe('http://127.0.0.1:9999/sandbox/pay');
  });

  it('a valid production environment loads; docs off, JSON logs, NODE_ENV explicit wins', () => {
    const c = loadConfig(prodEnv(), { cwd: tmp() });
    expect(c.env).toBe('production');
    expect(c.http.docsEnabled).toBe(false);
    expect(c.log.pretty).toBe(false);
    expect(c.wechat.sandbox).toBe(false);
    expect(c.db.mysql).toMatchObject({ host: '10.0.0.2', port: 3306, user: 'app', database: 'image_classifier', poolSize: 10 });
    expect(c.pay.notifyUrl).toBe('https://www.example.com/api/v1/payment/notify');
  });
});

describe('loadConfig — background jobs', () => {
  it('run on their timers in production and development, not under NODE_ENV=test unless JOBS_ENABLED says so', () => {
    expect(loadConfig(prodEnv()).ops.jobsEnabled).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development' }, { cwd: tmp() }).ops.jobsEnabled).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }, { cwd: tmp() }).ops.jobsEnabled).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test', JOBS_ENABLED: 'true' }, { cwd: tmp() }).ops.jobsEnabled).toBe(true);
    expect(loadConfig(prodEnv({ JOBS_ENABLED: 'false' })).ops.jobsEnabled).toBe(false);
    expectConfigError(prodEnv({ JOBS_ENABLED: 'sometimes' }), 'JOBS_ENABLED');
  });
});

describe('loadConfig — legacy names and prices', () => {
  it('PORT is an alias of APP_PORT; APP_PORT wins', () => {
    expect(loadConfig({ PORT: '9001' }, { cwd: tmp() }).http.port).toBe(9001);
    expect(loadConfig({ PORT: '9001', APP_PORT: '9002' }, { cwd: tmp() }).http.port).toBe(9002);
  });

  it('USE_TEST_PRICE switches the member price to the _TEST value', () => {
    const c = loadConfig({ USE_TEST_PRICE: 'true' }, { cwd: tmp() });
    expect(c.pricing.memberPriceFen).toBe(10);
    expect(c.pricing.useTestPrice).toBe(true);
  });

  it('the credit price lists are handed to payment as set (payment/price-list.ts reads them)', () => {
    const c = loadConfig(
      { CREDITS_PACKAGES_PROD: ' 10:9.90, 30:25 ', CREDITS_AMOUNTS_TEST: '1,5', CREDITS_PRICE_TEST: '0.01', CREDITS_PACKAGES_TEST: '' },
      { cwd: tmp() },
    );
    expect(c.pricing.priceLists).toEqual({
      PROD: { packages: '10:9.90, 30:25' },
      TEST: { amounts: '1,5', unitPrice: '0.01' },
    });
  });
});

describe('loadConfig — each kind of invalid value names its variable', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['non-numeric port', { APP_PORT: '80a' }, 'APP_PORT'],
    ['port out of range', { APP_PORT: '70000' }, 'APP_PORT'],
    ['unknown role', { APP_ROLE: 'worker' }, 'APP_ROLE'],
    ['unknown NODE_ENV', { NODE_ENV: 'staging' }, 'NODE_ENV'],
    ['unknown DB_TYPE', { DB_TYPE: 'postgres' }, 'DB_TYPE'],
    ['bad boolean', { WECHAT_SANDBOX: 'maybe' }, 'WECHAT_SANDBOX'],
    ['AES key of wrong length', { WECHAT_ENCODING_AES_KEY: 'short' }, 'WECHAT_ENCODING_AES_KEY'],
    ['pay version', { WECHAT_PAY_VERSION: 'v4' }, 'WECHAT_PAY_VERSION'],
    ['sign type', { WECHAT_PAY_SIGN_TYPE: 'SHA1' }, 'WECHAT_PAY_SIGN_TYPE'],
    ['member price with 3 decimals', { MEMBER_PRICE_PROD: '29.999' }, 'MEMBER_PRICE_PROD'],
    ['negative price', { MEMBER_PRICE_PROD: '-1' }, 'MEMBER_PRICE_PROD'],
    ['zero member price', { MEMBER_PRICE_PROD: '0' }, 'MEMBER_PRICE_PROD'],
    ['malformed packages', { CREDITS_PACKAGES_PROD: '10=9.9' }, 'CREDITS_PACKAGES_PROD'],
    ['QR lifetime below 60 s', { QR_EXPIRE_SECONDS: '30' }, 'QR_EXPIRE_SECONDS'],
    ['float credits', { INITIAL_CREDITS: '1.5' }, 'INITIAL_CREDITS'],
    ['public URL without scheme', { PUBLIC_BASE_URL: 'www.example.com' }, 'PUBLIC_BASE_URL'],
    ['notify URL with query', { WECHAT_PAY_NOTIFY_URL: 'https://x.com/notify?a=1' }, 'WECHAT_PAY_NOTIFY_URL'],
    ['bad trust proxy', { TRUST_PROXY: 'everyone!' }, 'TRUST_PROXY'],
    ['log level', { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    ['short session secret', { SESSION_SECRET: 'short' }, 'SESSION_SECRET'],
    ['bad MySQL database name', { MYSQL_DATABASE: 'a;drop' }, 'MYSQL_DATABASE'],
  ];
  it.each(cases)('%s', (_name, env, variable) => expectConfigError(env, variable));
});

describe('loadConfig — roles and workers', () => {
  const secret = 'i'.repeat(32);

  it('role web implies the http transport and needs the secret and the app server URL', () => {
    const c = loadConfig({ APP_ROLE: 'web', INTERNAL_API_SECRET: secret, INTERNAL_API_BASE_URL: 'http://10.0.0.2:8000' }, { cwd: tmp() });
    expect(c.internal).toMatchObject({ transport: 'http', baseUrl: 'http://10.0.0.2:8000', timeoutMs: 3000 });
    expectConfigError({ APP_ROLE: 'web', INTERNAL_API_BASE_URL: 'http://10.0.0.2:8000' }, 'INTERNAL_API_SECRET');
    expectConfigError({ APP_ROLE: 'web', INTERNAL_API_SECRET: secret }, 'INTERNAL_API_BASE_URL');
    expectConfigError(
      { APP_ROLE: 'web', INTERNAL_API_SECRET: secret, INTERNAL_API_BASE_URL: 'http://a:1', INTERNAL_API_TRANSPORT: 'local' },
      'INTERNAL_API_TRANSPORT',
    );
  });

  it('roles all/app refuse the http transport; app needs the secret', () => {
    expectConfigError({ INTERNAL_API_TRANSPORT: 'http', INTERNAL_API_BASE_URL: 'http://a:1' }, 'INTERNAL_API_TRANSPORT');
    expectConfigError({ APP_ROLE: 'app' }, 'INTERNAL_API_SECRET');
    expect(loadConfig({ APP_ROLE: 'app', INTERNAL_API_SECRET: secret }, { cwd: tmp() }).internal.transport).toBe('local');
  });

  it('WORKERS > 1 needs MySQL and an explicit SESSION_SECRET', () => {
    expectConfigError({ WORKERS: '2', SESSION_SECRET: 'x'.repeat(32) }, 'WORKERS', /mysql/i);
    expectConfigError({ WORKERS: '2', DB_TYPE: 'mysql' }, 'SESSION_SECRET');
    expect(loadConfig({ WORKERS: '2', DB_TYPE: 'mysql', SESSION_SECRET: 'x'.repeat(32) }, { cwd: tmp() }).http.workers).toBe(2);
  });
});

describe('loadConfig — production refusals', () => {
  it.each([['WECHAT_APPID'], ['WECHAT_SECRET'], ['WECHAT_TOKEN'], ['SESSION_SECRET'], ['WECHAT_PAY_MCHID'], ['WECHAT_PAY_API_KEY']])(
    'missing %s',
    (variable) => expectConfigError(prodEnv({ [variable]: undefined }), variable, /required/),
  );

  it('a session secret shorter than 32 characters', () => expectConfigError(prodEnv({ SESSION_SECRET: 'x'.repeat(20) }), 'SESSION_SECRET'));
  it('an admin key shorter than 32 characters (ADMIN_API_KEY=a)', () => {
    expectConfigError(prodEnv({ ADMIN_API_KEY: 'a' }), 'ADMIN_API_KEY', /32/);
    expectConfigError(prodEnv({ ADMIN_API_KEY: 'k'.repeat(31) }), 'ADMIN_API_KEY', /32/);
    expect(loadConfig(prodEnv({ ADMIN_API_KEY: 'k'.repeat(32) }), { cwd: tmp() }).admin.apiKey).toHaveLength(32);
    expect(loadConfig(prodEnv({ ADMIN_API_KEY: '' }), { cwd: tmp() }).admin.apiKey).toBe(''); // admin off stays allowed
  });
  it('an internal secret shorter than 32 characters (16 is enough outside production)', () => {
    expectConfigError(prodEnv({ INTERNAL_API_SECRET: 'i'.repeat(20) }), 'INTERNAL_API_SECRET', /32/);
    expect(loadConfig(prodEnv({ INTERNAL_API_SECRET: 'i'.repeat(32) }), { cwd: tmp() }).internal.secret).toHaveLength(32);
    expect(loadConfig({ INTERNAL_API_SECRET: 'i'.repeat(20) }, { cwd: tmp() }).internal.secret).toHaveLength(20);
  });
  it('an http public URL', () => expectConfigError(prodEnv({ PUBLIC_BASE_URL: 'http://www.example.com' }), 'PUBLIC_BASE_URL', /https/));
  it('an http notify URL', () =>
    expectConfigError(
      prodEnv({ WECHAT_PAY_NOTIFY_URL: 'http://www.example.com/api/v1/payment/notify' }),
      'WECHAT_PAY_NOTIFY_URL',
      /https/,
    ));
  it('the sandbox', () => expectConfigError(prodEnv({ WECHAT_SANDBOX: 'true' }), 'WECHAT_SANDBOX'));
  it('SQLite with several workers', () => expectConfigError(prodEnv({ DB_TYPE: 'sqlite', WORKERS: '2' }), 'WORKERS'));
  it('MySQL chosen but its host not set', () => expectConfigError(prodEnv({ MYSQL_HOST: undefined }), 'MYSQL_HOST'));

  it('v3 needs its key, certificate serial and a readable private key file', () => {
    const dir = tmp();
    const key = join(dir, 'apiclient_key.pem');
    writeFileSync(key, '-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n');
    const v3 = {
      WECHAT_PAY_VERSION: 'v3',
      WECHAT_PAY_API_KEY: undefined,
      WECHAT_PAY_API_V3_KEY: 'k'.repeat(32),
      WECHAT_PAY_CERT_SERIAL: 'ABCDEF0123',
      WECHAT_PAY_PRIVATE_KEY_PATH: key,
    };
    expect(loadConfig(prodEnv(v3), { cwd: dir }).pay.version).toBe('v3');
    expectConfigError(prodEnv({ ...v3, WECHAT_PAY_API_V3_KEY: undefined }), 'WECHAT_PAY_API_V3_KEY');
    expectConfigError(prodEnv({ ...v3, WECHAT_PAY_CERT_SERIAL: undefined }), 'WECHAT_PAY_CERT_SERIAL');
    expectConfigError(prodEnv({ ...v3, WECHAT_PAY_PRIVATE_KEY_PATH: join(dir, 'missing.pem') }), 'WECHAT_PAY_PRIVATE_KEY_PATH');
    expectConfigError(prodEnv({ ...v3, WECHAT_PAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_0114' }), 'WECHAT_PAY_PUBLIC_KEY_PATH');
  });
});
