import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { AppConfig, CreditPackage, MessageMode, NodeEnv } from './app-config';
import { EnvSchema } from './env.schema';
import { yuanToFen } from './money';
import { SANDBOX_CREDENTIALS, SANDBOX_KEY_FILES } from './sandbox-defaults';
import { version as packageVersion } from '../../package.json';

/** One readable line naming the variable and the reason; boot prints it and exits. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`Invalid configuration: ${variable} ${reason}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export interface LoadConfigOptions {
  /** Working directory that relative paths (SQLite file, data folder) resolve against. */
  cwd?: string;
}

const DEFAULT_TEXTS = {
  WELCOME_TEXT: '欢迎关注！您已获得{credits}张图片编辑额度。',
  WELCOME_BACK_TEXT: '欢迎回来！',
  BIND_SUCCESS_TEXT: '已绑定电脑端，可返回电脑继续使用。',
  BIND_EXPIRED_TEXT: '二维码已过期，请在电脑端刷新二维码后重新扫码。',
};

const PRODUCTION_REAL_HOSTS = {
  WECHAT_API_BASE: 'https://api.weixin.qq.com',
  WECHAT_OAUTH_BASE: 'https://open.weixin.qq.com',
  WECHAT_MP_BASE: 'https://mp.weixin.qq.com',
  WECHAT_PAY_BASE: 'https://api.mch.weixin.qq.com',
};

/** Empty strings count as unset, so `FOO=` in .env falls back to the default like the old service. */
function pick(env: Env, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v.trim() !== '') return v.trim();
  }
  return undefined;
}

function firstError(errors: ValidationError[]): { variable: string; reason: string } {
  const e = errors[0];
  const constraints = e.constraints ?? {};
  const reason = Object.values(constraints)[0] ?? 'is invalid';
  // class-validator messages start with the property name; keep only the reason part.
  return { variable: e.property, reason: reason.startsWith(e.property) ? reason.slice(e.property.length).trim() : reason };
}

/** `10:9.9;20:18` → [{credits:10, priceFen:990}, …]; duplicates and zero credits are refused. */
export function parseCreditPackages(spec: string, variable: string): CreditPackage[] {
  const out: CreditPackage[] = [];
  for (const part of spec
    .split(/[;,]/)
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [c, p] = part.split(':').map((x) => x.trim());
    const credits = Number(c);
    const priceFen = yuanToFen(p);
    if (!Number.isSafeInteger(credits) || credits <= 0 || credits > 1_000_000) {
      throw new ConfigError(variable, `has an invalid credit amount "${c}"`);
    }
    if (priceFen <= 0) throw new ConfigError(variable, `has a zero price for ${credits} credits`);
    if (out.some((x) => x.credits === credits)) throw new ConfigError(variable, `lists ${credits} credits twice`);
    out.push({ credits, priceFen });
  }
  if (out.length === 0) throw new ConfigError(variable, 'lists no package');
  return out;
}

/** Legacy pair: amounts "10,20,50" × unit price "0.99" → packages, exact in fen or refused. */
function legacyPackages(amounts: string, unitPrice: string, variable: string): CreditPackage[] {
  const [int, dec = ''] = unitPrice.split('.');
  const unitTenThousandths = Number(int) * 10000 + Number(dec.padEnd(4, '0'));
  return amounts
    .split(/[;,]/)
    .map((a) => a.trim())
    .filter(Boolean)
    .map((a) => {
      const credits = Number(a);
      const total = credits * unitTenThousandths; // in 1/10000 yuan = 1/100 fen
      if (total % 100 !== 0) throw new ConfigError(variable, `× unit price is not a whole number of fen for ${credits}`);
      if (credits <= 0 || total <= 0) throw new ConfigError(variable, `has an invalid amount "${a}"`);
      return { credits, priceFen: total / 100 };
    });
}

function readOrCreateSecret(file: string): string {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    try {
      const fd = openSync(file, 'wx', 0o600); // exclusive: concurrent starters agree on one secret
      writeSync(fd, randomBytes(32).toString('hex'));
      closeSync(fd);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  // A racing creator may not have written yet; wait briefly for content.
  for (let i = 0; i < 50; i++) {
    const s = readFileSync(file, 'utf8').trim();
    if (s.length >= 32) return s;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
  throw new ConfigError('SESSION_SECRET', `could not be read from ${file}`);
}

/**
 * Builds the validated configuration from an environment (process.env plus .env, merged by the
 * caller). Throws ConfigError with one line naming the variable.
 */
export function loadConfig(source: Env, options: LoadConfigOptions = {}): AppConfig {
  const cwd = options.cwd ?? process.cwd();
  const nodeEnv = (pick(source, 'NODE_ENV') ?? 'development') as NodeEnv;
  const isProd = nodeEnv === 'production';
  const role = pick(source, 'APP_ROLE') ?? 'all';
  const port = pick(source, 'APP_PORT', 'PORT') ?? '8000';
  const sandboxRaw = pick(source, 'WECHAT_SANDBOX') ?? (nodeEnv === 'development' ? 'true' : 'false');
  const sandbox = ['true', '1', 'yes', 'on'].includes(sandboxRaw.toLowerCase());
  const publicBase = (pick(source, 'PUBLIC_BASE_URL') ?? `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  const sandboxBase = `http://127.0.0.1:${port}/sandbox`;
  const sqlitePath = pick(source, 'SQLITE_PATH') ?? './data/app.sqlite';
  const dataDir = resolve(cwd, pick(source, 'DATA_DIR') ?? 'data');
  const sbKey = (f: string) => join(dataDir, 'sandbox', f);
  const sb = <K extends keyof typeof SANDBOX_CREDENTIALS>(k: K) => (sandbox ? SANDBOX_CREDENTIALS[k] : '');

  const raw: Record<string, unknown> = {
    NODE_ENV: nodeEnv,
    APP_ROLE: role,
    APP_HOST: pick(source, 'APP_HOST') ?? '127.0.0.1',
    APP_PORT: port,
    WORKERS: pick(source, 'WORKERS') ?? '1',
    TRUST_PROXY: pick(source, 'TRUST_PROXY') ?? 'loopback',
    PUBLIC_BASE_URL: publicBase,
    HOMEPAGE_URL: pick(source, 'HOMEPAGE_URL') ?? publicBase,
    DB_TYPE: pick(source, 'DB_TYPE') ?? 'sqlite',
    SQLITE_PATH: sqlitePath,
    MYSQL_HOST: pick(source, 'MYSQL_HOST') ?? '127.0.0.1',
    MYSQL_PORT: pick(source, 'MYSQL_PORT') ?? '3306',
    MYSQL_USER: pick(source, 'MYSQL_USER') ?? 'root',
    MYSQL_PASSWORD: source.MYSQL_PASSWORD ?? '',
    MYSQL_DATABASE: pick(source, 'MYSQL_DATABASE') ?? 'image_classifier',
    MYSQL_POOL_SIZE: pick(source, 'MYSQL_POOL_SIZE') ?? '10',
    DB_MIGRATE_ON_START: pick(source, 'DB_MIGRATE_ON_START') ?? 'true',
    WECHAT_APPID: pick(source, 'WECHAT_APPID') ?? sb('WECHAT_APPID'),
    WECHAT_SECRET: pick(source, 'WECHAT_SECRET') ?? sb('WECHAT_SECRET'),
    WECHAT_TOKEN: pick(source, 'WECHAT_TOKEN') ?? sb('WECHAT_TOKEN'),
    WECHAT_ENCODING_AES_KEY: pick(source, 'WECHAT_ENCODING_AES_KEY') ?? sb('WECHAT_ENCODING_AES_KEY'),
    WECHAT_SANDBOX: sandboxRaw,
    SANDBOX_CALLBACK_BASE: (pick(source, 'SANDBOX_CALLBACK_BASE') ?? publicBase).replace(/\/+$/, ''),
    // Sandbox hosts listener (issue 16): off unless a port is given.
    SANDBOX_HOSTS_PORT: pick(source, 'SANDBOX_HOSTS_PORT'),
    WECHAT_API_BASE: pick(source, 'WECHAT_API_BASE') ?? (sandbox ? `${sandboxBase}/api` : PRODUCTION_REAL_HOSTS.WECHAT_API_BASE),
    WECHAT_OAUTH_BASE: pick(source, 'WECHAT_OAUTH_BASE') ?? (sandbox ? `${sandboxBase}/open` : PRODUCTION_REAL_HOSTS.WECHAT_OAUTH_BASE),
    WECHAT_MP_BASE: pick(source, 'WECHAT_MP_BASE') ?? (sandbox ? `${sandboxBase}/mp` : PRODUCTION_REAL_HOSTS.WECHAT_MP_BASE),
    WECHAT_PAY_BASE: pick(source, 'WECHAT_PAY_BASE') ?? (sandbox ? `${sandboxBase}/pay` : PRODUCTION_REAL_HOSTS.WECHAT_PAY_BASE),
    WECHAT_PAY_VERSION: pick(source, 'WECHAT_PAY_VERSION') ?? 'v2',
    WECHAT_PAY_MCHID: pick(source, 'WECHAT_PAY_MCHID') ?? sb('WECHAT_PAY_MCHID'),
    WECHAT_PAY_API_KEY: pick(source, 'WECHAT_PAY_API_KEY') ?? sb('WECHAT_PAY_API_KEY'),
    WECHAT_PAY_NOTIFY_URL: pick(source, 'WECHAT_PAY_NOTIFY_URL') ?? `${publicBase}/api/v1/payment/notify`,
    WECHAT_PAY_SIGN_TYPE: pick(source, 'WECHAT_PAY_SIGN_TYPE') ?? 'MD5',
    WECHAT_PAY_API_V3_KEY: pick(source, 'WECHAT_PAY_API_V3_KEY') ?? sb('WECHAT_PAY_API_V3_KEY'),
    WECHAT_PAY_PRIVATE_KEY_PATH:
      pick(source, 'WECHAT_PAY_PRIVATE_KEY_PATH') ?? (sandbox ? sbKey(SANDBOX_KEY_FILES.merchantPrivateKey) : ''),
    WECHAT_PAY_CERT_SERIAL: pick(source, 'WECHAT_PAY_CERT_SERIAL') ?? sb('WECHAT_PAY_CERT_SERIAL'),
    WECHAT_PAY_CLIENT_CERT_P12_PATH: pick(source, 'WECHAT_PAY_CLIENT_CERT_P12_PATH') ?? '',
    WECHAT_PAY_REFUND_NOTIFY_URL: pick(source, 'WECHAT_PAY_REFUND_NOTIFY_URL') ?? `${publicBase}/api/v1/payment/refund-notify`,
    WECHAT_PAY_PUBLIC_KEY_PATH: pick(source, 'WECHAT_PAY_PUBLIC_KEY_PATH') ?? (sandbox ? sbKey(SANDBOX_KEY_FILES.platformPublicKey) : ''),
    WECHAT_PAY_PUBLIC_KEY_ID: pick(source, 'WECHAT_PAY_PUBLIC_KEY_ID') ?? sb('WECHAT_PAY_PUBLIC_KEY_ID'),
    USE_TEST_PRICE: pick(source, 'USE_TEST_PRICE') ?? 'false',
    MEMBER_PRICE_PROD: pick(source, 'MEMBER_PRICE_PROD') ?? '29.90',
    MEMBER_PRICE_TEST: pick(source, 'MEMBER_PRICE_TEST') ?? '0.10',
    CREDITS_PACKAGES_PROD: pick(source, 'CREDITS_PACKAGES_PROD'),
    CREDITS_PACKAGES_TEST: pick(source, 'CREDITS_PACKAGES_TEST'),
    CREDITS_AMOUNTS_PROD: pick(source, 'CREDITS_AMOUNTS_PROD'),
    CREDITS_AMOUNTS_TEST: pick(source, 'CREDITS_AMOUNTS_TEST'),
    CREDITS_PRICE_PROD: pick(source, 'CREDITS_PRICE_PROD'),
    CREDITS_PRICE_TEST: pick(source, 'CREDITS_PRICE_TEST'),
    INITIAL_CREDITS: pick(source, 'INITIAL_CREDITS') ?? '10',
    MEMBER_BONUS_CREDITS: pick(source, 'MEMBER_BONUS_CREDITS') ?? '10',
    MEMBER_DURATION_DAYS: pick(source, 'MEMBER_DURATION_DAYS') ?? '0',
    ORDER_TTL_MINUTES: pick(source, 'ORDER_TTL_MINUTES') ?? '30',
    // --- Orders and credits limits (issue 12, docs/limits.md).
    MAX_PENDING_ORDERS_PER_USER: pick(source, 'MAX_PENDING_ORDERS_PER_USER') ?? '5',
    QR_EXPIRE_SECONDS: pick(source, 'QR_EXPIRE_SECONDS') ?? '1800',
    WELCOME_TEXT: source.WELCOME_TEXT || DEFAULT_TEXTS.WELCOME_TEXT,
    WELCOME_BACK_TEXT: source.WELCOME_BACK_TEXT || DEFAULT_TEXTS.WELCOME_BACK_TEXT,
    BIND_SUCCESS_TEXT: source.BIND_SUCCESS_TEXT || DEFAULT_TEXTS.BIND_SUCCESS_TEXT,
    BIND_EXPIRED_TEXT: source.BIND_EXPIRED_TEXT || DEFAULT_TEXTS.BIND_EXPIRED_TEXT,
    SESSION_SECRET: pick(source, 'SESSION_SECRET'),
    SESSION_TTL_SECONDS: pick(source, 'SESSION_TTL_SECONDS') ?? '7200',
    ALLOW_OPENID_HEADER: pick(source, 'ALLOW_OPENID_HEADER') ?? 'false',
    ADMIN_API_KEY: pick(source, 'ADMIN_API_KEY') ?? '',
    // Operator console.
    ADMIN_OPENIDS: pick(source, 'ADMIN_OPENIDS') ?? '',
    CONSOLE_SESSION_MINUTES: pick(source, 'CONSOLE_SESSION_MINUTES') ?? '30',
    INTERNAL_API_TRANSPORT: pick(source, 'INTERNAL_API_TRANSPORT') ?? (role === 'web' ? 'http' : 'local'),
    INTERNAL_API_BASE_URL: pick(source, 'INTERNAL_API_BASE_URL'),
    INTERNAL_API_SECRET: pick(source, 'INTERNAL_API_SECRET') ?? '',
    INTERNAL_API_TIMEOUT_MS: pick(source, 'INTERNAL_API_TIMEOUT_MS') ?? '3000',
    CALLBACK_MAX_SKEW_SECONDS: pick(source, 'CALLBACK_MAX_SKEW_SECONDS') ?? '300',
    DOCS_ENABLED: pick(source, 'DOCS_ENABLED') ?? (isProd ? 'false' : 'true'),
    LOG_LEVEL: (pick(source, 'LOG_LEVEL') ?? 'info').toLowerCase(),
    RATE_LIMIT_PER_MINUTE: pick(source, 'RATE_LIMIT_PER_MINUTE') ?? '120',
    // Admin and metrics brute-force brake (docs/limits.md).
    ADMIN_AUTH_MAX_FAILURES: pick(source, 'ADMIN_AUTH_MAX_FAILURES') ?? '10',
    ADMIN_AUTH_WINDOW_SECONDS: pick(source, 'ADMIN_AUTH_WINDOW_SECONDS') ?? '900',
    NOTIFY_DATA_RETENTION_DAYS: pick(source, 'NOTIFY_DATA_RETENTION_DAYS') ?? '180',
    // Tests run a job when they mean to (runOnce/runFor), never on a timer, unless they ask.
    JOBS_ENABLED: pick(source, 'JOBS_ENABLED') ?? String(nodeEnv !== 'test'),
    // Callback and request-body hardening (issue 12; docs/limits.md).
    WECHAT_MESSAGE_MODE: (pick(source, 'WECHAT_MESSAGE_MODE') ?? 'plaintext').toLowerCase(),
    CALLBACK_BODY_LIMIT: pick(source, 'CALLBACK_BODY_LIMIT') ?? '16kb',
    CALLBACK_MAX_XML_FIELDS: pick(source, 'CALLBACK_MAX_XML_FIELDS') ?? '64',
    JSON_MAX_DEPTH: pick(source, 'JSON_MAX_DEPTH') ?? '32',
    // Shared rate limits (docs/limits.md): empty REDIS_URL = counters in process memory.
    REDIS_URL: pick(source, 'REDIS_URL') ?? '',
    REDIS_KEY_PREFIX: pick(source, 'REDIS_KEY_PREFIX') ?? 'image-classifier:',
  };

  const env = plainToInstance(EnvSchema, raw);
  const errors = validateSync(env, { forbidUnknownValues: false });
  if (errors.length > 0) {
    const { variable, reason } = firstError(errors);
    throw new ConfigError(variable, reason);
  }

  const creditPackages = (suffix: 'PROD' | 'TEST'): CreditPackage[] => {
    const explicit = env[`CREDITS_PACKAGES_${suffix}`];
    if (explicit) return parseCreditPackages(explicit, `CREDITS_PACKAGES_${suffix}`);
    const amounts = env[`CREDITS_AMOUNTS_${suffix}`];
    const unit = env[`CREDITS_PRICE_${suffix}`];
    if (amounts && unit) return legacyPackages(amounts, unit, `CREDITS_AMOUNTS_${suffix}`);
    if (amounts || unit) {
      throw new ConfigError(amounts ? `CREDITS_PRICE_${suffix}` : `CREDITS_AMOUNTS_${suffix}`, 'must be set together with its pair');
    }
    return parseCreditPackages(suffix === 'PROD' ? '10:9.9;20:18;50:39;100:69' : '1:0.01;5:0.05;10:0.1', `CREDITS_PACKAGES_${suffix}`);
  };
  const prodPackages = creditPackages('PROD');
  const testPackages = creditPackages('TEST');
  const memberPriceFen = yuanToFen(env.USE_TEST_PRICE ? env.MEMBER_PRICE_TEST : env.MEMBER_PRICE_PROD);
  if (memberPriceFen <= 0) throw new ConfigError(env.USE_TEST_PRICE ? 'MEMBER_PRICE_TEST' : 'MEMBER_PRICE_PROD', 'must be greater than 0');

  refuseInconsistent(env, source);
  refuseInboundMismatch(env);

  let sessionSecret = env.SESSION_SECRET;
  if (!sessionSecret) sessionSecret = readOrCreateSecret(join(dataDir, 'session-secret'));

  const trustProxy: boolean | number | string = /^\d+$/.test(env.TRUST_PROXY)
    ? Number(env.TRUST_PROXY)
    : env.TRUST_PROXY === 'true'
      ? true
      : env.TRUST_PROXY === 'false'
        ? false
        : env.TRUST_PROXY;

  const config = new AppConfig();
  Object.assign(config, {
    env: env.NODE_ENV,
    role: env.APP_ROLE,
    version: packageVersion,
    dataDir,
    http: {
      host: env.APP_HOST,
      port: env.APP_PORT,
      workers: env.WORKERS,
      trustProxy,
      publicBaseUrl: env.PUBLIC_BASE_URL,
      homepageUrl: env.HOMEPAGE_URL,
      docsEnabled: env.DOCS_ENABLED,
      rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
    },
    log: { level: env.LOG_LEVEL, pretty: !isProd && nodeEnv !== 'test' },
    db: {
      type: env.DB_TYPE,
      sqlitePath: resolve(cwd, env.SQLITE_PATH),
      mysql: {
        host: env.MYSQL_HOST,
        port: env.MYSQL_PORT,
        user: env.MYSQL_USER,
        password: env.MYSQL_PASSWORD,
        database: env.MYSQL_DATABASE,
        poolSize: env.MYSQL_POOL_SIZE,
      },
      migrateOnStart: env.DB_MIGRATE_ON_START,
    },
    wechat: {
      appId: env.WECHAT_APPID,
      secret: env.WECHAT_SECRET,
      token: env.WECHAT_TOKEN,
      encodingAesKey: env.WECHAT_ENCODING_AES_KEY,
      sandbox: env.WECHAT_SANDBOX,
      sandboxCallbackBase: env.SANDBOX_CALLBACK_BASE,
      sandboxHostsPort: env.SANDBOX_HOSTS_PORT ?? null,
      apiBase: env.WECHAT_API_BASE.replace(/\/+$/, ''),
      oauthBase: env.WECHAT_OAUTH_BASE.replace(/\/+$/, ''),
      mpBase: env.WECHAT_MP_BASE.replace(/\/+$/, ''),
      callbackMaxSkewSeconds: env.CALLBACK_MAX_SKEW_SECONDS,
      texts: {
        welcome: env.WELCOME_TEXT,
        welcomeBack: env.WELCOME_BACK_TEXT,
        bindSuccess: env.BIND_SUCCESS_TEXT,
        bindExpired: env.BIND_EXPIRED_TEXT,
      },
    },
    pay: {
      base: env.WECHAT_PAY_BASE.replace(/\/+$/, ''),
      version: env.WECHAT_PAY_VERSION,
      mchId: env.WECHAT_PAY_MCHID,
      apiKey: env.WECHAT_PAY_API_KEY,
      notifyUrl: env.WECHAT_PAY_NOTIFY_URL,
      signType: env.WECHAT_PAY_SIGN_TYPE,
      apiV3Key: env.WECHAT_PAY_API_V3_KEY,
      privateKeyPath: env.WECHAT_PAY_PRIVATE_KEY_PATH ? resolve(cwd, env.WECHAT_PAY_PRIVATE_KEY_PATH) : '',
      certSerial: env.WECHAT_PAY_CERT_SERIAL.toUpperCase(),
      publicKeyPath: env.WECHAT_PAY_PUBLIC_KEY_PATH ? resolve(cwd, env.WECHAT_PAY_PUBLIC_KEY_PATH) : '',
      publicKeyId: env.WECHAT_PAY_PUBLIC_KEY_ID,
      clientCertP12Path: env.WECHAT_PAY_CLIENT_CERT_P12_PATH ? resolve(cwd, env.WECHAT_PAY_CLIENT_CERT_P12_PATH) : '',
      refundNotifyUrl: env.WECHAT_PAY_REFUND_NOTIFY_URL,
    },
    pricing: {
      useTestPrice: env.USE_TEST_PRICE,
      memberPriceFen,
      creditPackages: env.USE_TEST_PRICE ? testPackages : prodPackages,
      initialCredits: env.INITIAL_CREDITS,
      memberBonusCredits: env.MEMBER_BONUS_CREDITS,
      memberDurationDays: env.MEMBER_DURATION_DAYS,
      orderTtlMinutes: env.ORDER_TTL_MINUTES,
      // --- Orders and credits limits (issue 12, docs/limits.md).
      maxPendingOrdersPerUser: env.MAX_PENDING_ORDERS_PER_USER,
    },
    qr: { expireSeconds: env.QR_EXPIRE_SECONDS },
    session: { secret: sessionSecret, ttlSeconds: env.SESSION_TTL_SECONDS, allowOpenidHeader: env.ALLOW_OPENID_HEADER },
    admin: {
      apiKey: env.ADMIN_API_KEY,
      // Admin and metrics brute-force brake (docs/limits.md).
      authFailures: { maxFailures: env.ADMIN_AUTH_MAX_FAILURES, windowSeconds: env.ADMIN_AUTH_WINDOW_SECONDS },
    },
    // Operator console: an empty list switches it off.
    console: {
      adminOpenids: env.ADMIN_OPENIDS.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      sessionMinutes: env.CONSOLE_SESSION_MINUTES,
    },
    internal: {
      transport: env.INTERNAL_API_TRANSPORT,
      baseUrl: (env.INTERNAL_API_BASE_URL ?? '').replace(/\/+$/, ''),
      secret: env.INTERNAL_API_SECRET,
      timeoutMs: env.INTERNAL_API_TIMEOUT_MS,
    },
    ops: { notifyDataRetentionDays: env.NOTIFY_DATA_RETENTION_DAYS, jobsEnabled: env.JOBS_ENABLED },
    inbound: {
      messageMode: env.WECHAT_MESSAGE_MODE as MessageMode,
      callbackBodyLimitBytes: env.CALLBACK_BODY_LIMIT,
      callbackMaxXmlFields: env.CALLBACK_MAX_XML_FIELDS,
      jsonMaxDepth: env.JSON_MAX_DEPTH,
    },
    // Shared rate limits (docs/limits.md "Shared rate limits").
    redis: { url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX },
  } satisfies Omit<AppConfig, never>);
  return Object.freeze(config);
}

/** Compatible and safe mode decrypt every push: they need the account's EncodingAESKey (issue 12). */
function refuseInboundMismatch(env: EnvSchema): void {
  if (env.WECHAT_MESSAGE_MODE !== 'plaintext' && !env.WECHAT_ENCODING_AES_KEY) {
    throw new ConfigError('WECHAT_MESSAGE_MODE', `${env.WECHAT_MESSAGE_MODE} mode needs WECHAT_ENCODING_AES_KEY`);
  }
}

/** Cross-variable rules: roles, workers, and what production refuses (docs/config.md, docs/internal.md). */
function refuseInconsistent(env: EnvSchema, source: Env): void {
  const fail = (v: string, reason: string): never => {
    throw new ConfigError(v, reason);
  };
  // Roles.
  if (env.APP_ROLE === 'web' && env.INTERNAL_API_TRANSPORT !== 'http') {
    fail('INTERNAL_API_TRANSPORT', 'must be http in APP_ROLE=web (the web role has no database)');
  }
  if (env.APP_ROLE !== 'web' && env.INTERNAL_API_TRANSPORT === 'http') {
    fail('INTERNAL_API_TRANSPORT', `must be local in APP_ROLE=${env.APP_ROLE} (only the web role calls over HTTP)`);
  }
  if (env.APP_ROLE !== 'all' && !env.INTERNAL_API_SECRET) {
    fail('INTERNAL_API_SECRET', `is required in APP_ROLE=${env.APP_ROLE}`);
  }
  if (env.INTERNAL_API_SECRET && env.INTERNAL_API_SECRET.length < 16) {
    fail('INTERNAL_API_SECRET', 'must be at least 16 characters');
  }
  if (env.APP_ROLE === 'web' && !env.INTERNAL_API_BASE_URL) {
    fail('INTERNAL_API_BASE_URL', 'is required in APP_ROLE=web (the app server origin)');
  }
  if (env.WORKERS > 1 && env.DB_TYPE === 'sqlite' && env.APP_ROLE !== 'web') {
    fail('WORKERS', '> 1 needs DB_TYPE=mysql (SQLite is for one process)');
  }
  if (env.WORKERS > 1 && !env.SESSION_SECRET) {
    fail('SESSION_SECRET', 'must be set explicitly when WORKERS > 1');
  }

  if (env.NODE_ENV !== 'production') return;
  // Production refusals.
  if (env.WECHAT_SANDBOX) fail('WECHAT_SANDBOX', 'must not be true in production');
  if (!env.WECHAT_APPID) fail('WECHAT_APPID', 'is required in production');
  if (!env.WECHAT_SECRET) fail('WECHAT_SECRET', 'is required in production');
  if (!env.WECHAT_TOKEN || env.WECHAT_TOKEN.length < 3) fail('WECHAT_TOKEN', 'is required in production (3-32 letters or digits)');
  if (!env.SESSION_SECRET || env.SESSION_SECRET.length < 32) fail('SESSION_SECRET', 'is required in production (at least 32 characters)');
  // Admin and metrics brute-force brake: a short key is guessable whatever the per-IP limit.
  if (env.ADMIN_API_KEY && env.ADMIN_API_KEY.length < 32)
    fail('ADMIN_API_KEY', 'must be at least 32 characters in production (or empty: admin off)');
  if (env.INTERNAL_API_SECRET && env.INTERNAL_API_SECRET.length < 32)
    fail('INTERNAL_API_SECRET', 'must be at least 32 characters in production');
  if (!env.PUBLIC_BASE_URL.startsWith('https://')) fail('PUBLIC_BASE_URL', 'must be https in production');
  if (!env.WECHAT_PAY_NOTIFY_URL.startsWith('https://')) fail('WECHAT_PAY_NOTIFY_URL', 'must be https in production');
  if (!env.WECHAT_PAY_REFUND_NOTIFY_URL.startsWith('https://')) fail('WECHAT_PAY_REFUND_NOTIFY_URL', 'must be https in production');
  if (env.DB_TYPE === 'mysql') {
    if (!source.MYSQL_HOST?.trim()) fail('MYSQL_HOST', 'is required in production when DB_TYPE=mysql');
    if (!source.MYSQL_DATABASE?.trim()) fail('MYSQL_DATABASE', 'is required in production when DB_TYPE=mysql');
    if (!source.MYSQL_USER?.trim()) fail('MYSQL_USER', 'is required in production when DB_TYPE=mysql');
  }
  // Every role verifies pay notifications (the web role takes /payment/notify), so all need the keys.
  if (!env.WECHAT_PAY_MCHID) fail('WECHAT_PAY_MCHID', 'is required in production');
  if (env.WECHAT_PAY_VERSION === 'v2') {
    if (!env.WECHAT_PAY_API_KEY) fail('WECHAT_PAY_API_KEY', 'is required in production with WECHAT_PAY_VERSION=v2 (32 characters)');
  } else {
    if (!env.WECHAT_PAY_API_V3_KEY) fail('WECHAT_PAY_API_V3_KEY', 'is required in production with WECHAT_PAY_VERSION=v3 (32 bytes)');
    if (!env.WECHAT_PAY_CERT_SERIAL) fail('WECHAT_PAY_CERT_SERIAL', 'is required in production with WECHAT_PAY_VERSION=v3');
    if (!env.WECHAT_PAY_PRIVATE_KEY_PATH || !existsSync(env.WECHAT_PAY_PRIVATE_KEY_PATH)) {
      fail('WECHAT_PAY_PRIVATE_KEY_PATH', 'must name a readable PEM file in production with WECHAT_PAY_VERSION=v3');
    }
    if (env.WECHAT_PAY_PUBLIC_KEY_PATH && !existsSync(env.WECHAT_PAY_PUBLIC_KEY_PATH)) {
      fail('WECHAT_PAY_PUBLIC_KEY_PATH', 'names a file that does not exist');
    }
    if (!!env.WECHAT_PAY_PUBLIC_KEY_PATH !== !!env.WECHAT_PAY_PUBLIC_KEY_ID) {
      fail(env.WECHAT_PAY_PUBLIC_KEY_ID ? 'WECHAT_PAY_PUBLIC_KEY_PATH' : 'WECHAT_PAY_PUBLIC_KEY_ID', 'must be set together with its pair');
    }
  }
}
