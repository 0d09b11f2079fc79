import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { AppConfig, MessageMode } from './app-config';
import { ConfigError } from './config-error';
import { ENV_ALIASES, ENV_DEFAULTS, ENV_NORMALIZE, ENV_UNTRIMMED } from './env-defaults';
import { envVariableNames, EnvSchema } from './env.schema';
import { yuanToFen } from './money';
import { readOrCreateSecret } from './session-secret';
import { version as packageVersion } from '../../package.json';

type Env = Record<string, string | undefined>;

export interface LoadConfigOptions {
  /** Working directory that relative paths (SQLite file, data folder) resolve against. */
  cwd?: string;
}

/**
 * Each declared variable as set (aliases included) or else defaulted, then normalized. Empty
 * strings count as unset, so `FOO=` in .env falls back to the default like the old service.
 * Defaults may read other variables (resolved on demand, once).
 */
function resolveVariables(source: Env, cwd: string): Record<keyof EnvSchema, string | undefined> {
  const resolved = new Map<keyof EnvSchema, string | undefined>();
  const value = (name: keyof EnvSchema): string | undefined => {
    if (resolved.has(name)) return resolved.get(name);
    let v = fromEnvironment(source, name);
    if (v === undefined) {
      const d = ENV_DEFAULTS[name];
      v = typeof d === 'function' ? d(value, cwd) : d;
    }
    const normalize = ENV_NORMALIZE[name];
    if (v !== undefined && normalize) v = normalize(v);
    resolved.set(name, v);
    return v;
  };
  return Object.fromEntries(envVariableNames().map((name) => [name, value(name)])) as Record<keyof EnvSchema, string | undefined>;
}

/**
 * The value the environment sets for a variable (or an alias of it), or undefined when unset or
 * empty (blank, for the trimmed ones).
 */
function fromEnvironment(source: Env, name: keyof EnvSchema): string | undefined {
  if (ENV_UNTRIMMED.has(name)) return source[name] || undefined;
  for (const n of [name, ...(ENV_ALIASES[name] ?? [])]) {
    const v = source[n]?.trim();
    if (v) return v;
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

/**
 * Builds the validated configuration from an environment (process.env plus .env, merged by the
 * caller): every variable of env.schema.ts, set or defaulted (env-defaults.ts), validated, then
 * cross-checked. Throws ConfigError with one line naming the variable. The credit price lists are
 * only syntax-checked here: their rules are payment's (payment/price-list.ts), and main.ts applies
 * them right after this, so a bad list still stops every role at start with the same one line.
 */
export function loadConfig(source: Env, options: LoadConfigOptions = {}): AppConfig {
  const cwd = options.cwd ?? process.cwd();
  const raw = resolveVariables(source, cwd);

  const env = plainToInstance(EnvSchema, raw);
  const errors = validateSync(env, { forbidUnknownValues: false });
  if (errors.length > 0) {
    const { variable, reason } = firstError(errors);
    throw new ConfigError(variable, reason);
  }

  const memberPriceFen = yuanToFen(env.USE_TEST_PRICE ? env.MEMBER_PRICE_TEST : env.MEMBER_PRICE_PROD);
  if (memberPriceFen <= 0) throw new ConfigError(env.USE_TEST_PRICE ? 'MEMBER_PRICE_TEST' : 'MEMBER_PRICE_PROD', 'must be greater than 0');

  refuseInconsistent(env, source);
  refuseInboundMismatch(env);

  const dataDir = resolve(cwd, env.DATA_DIR);
  const sessionSecret = env.SESSION_SECRET ?? readOrCreateSecret(join(dataDir, 'session-secret'));

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
    log: { level: env.LOG_LEVEL, pretty: env.NODE_ENV === 'development' },
    db: {
      type: env.DB_TYPE,
      // `:memory:` is SQLite's in-memory database, not a file name to resolve against cwd.
      sqlitePath: env.SQLITE_PATH === ':memory:' ? ':memory:' : resolve(cwd, env.SQLITE_PATH),
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
      priceLists: {
        PROD: { packages: env.CREDITS_PACKAGES_PROD, amounts: env.CREDITS_AMOUNTS_PROD, unitPrice: env.CREDITS_PRICE_PROD },
        TEST: { packages: env.CREDITS_PACKAGES_TEST, amounts: env.CREDITS_AMOUNTS_TEST, unitPrice: env.CREDITS_PRICE_TEST },
      },
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
