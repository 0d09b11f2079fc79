import { join, resolve } from 'node:path';
import type { EnvSchema } from './env.schema';
import { SANDBOX_CREDENTIALS, SANDBOX_KEY_FILES } from './sandbox-defaults';

/** A variable's value after aliases and defaults (what the schema then validates), by name. */
export type ResolvedValue = (name: keyof EnvSchema) => string | undefined;

/** A default: a fixed value, or one computed from other variables' resolved values. */
type Default = string | ((value: ResolvedValue, cwd: string) => string | undefined);

const PRODUCTION_REAL_HOSTS = {
  WECHAT_API_BASE: 'https://api.weixin.qq.com',
  WECHAT_OAUTH_BASE: 'https://open.weixin.qq.com',
  WECHAT_MP_BASE: 'https://mp.weixin.qq.com',
  WECHAT_PAY_BASE: 'https://api.mch.weixin.qq.com',
};

/** WECHAT_SANDBOX as the defaults read it (the schema validates the same words). */
export function sandboxOn(value: ResolvedValue): boolean {
  return ['true', '1', 'yes', 'on'].includes((value('WECHAT_SANDBOX') ?? '').toLowerCase());
}

/** A sandbox credential in sandbox mode, else empty. */
const sandboxCredential =
  (name: keyof typeof SANDBOX_CREDENTIALS): Default =>
  (v) =>
    sandboxOn(v) ? SANDBOX_CREDENTIALS[name] : '';

/** A sandbox key file under `<DATA_DIR>/sandbox/` in sandbox mode, else empty. */
const sandboxKeyFile =
  (file: string): Default =>
  (v, cwd) =>
    sandboxOn(v) ? join(resolve(cwd, v('DATA_DIR')!), 'sandbox', file) : '';

/** The sandbox's stand-in for a WeChat host in sandbox mode, else the real host. */
const upstream =
  (name: keyof typeof PRODUCTION_REAL_HOSTS, path: string): Default =>
  (v) =>
    sandboxOn(v) ? `http://127.0.0.1:${v('APP_PORT')}/sandbox/${path}` : PRODUCTION_REAL_HOSTS[name];

/**
 * The default of each variable that has one (docs/config.md lists them): what an unset or empty
 * variable becomes before validation. Keyed by the schema, so a default for an undeclared variable
 * does not compile. Variables without an entry stay unset (the schema marks them optional).
 */
export const ENV_DEFAULTS: { readonly [K in keyof EnvSchema]?: Default } = {
  NODE_ENV: 'development',
  APP_ROLE: 'all',
  APP_HOST: '127.0.0.1',
  APP_PORT: '8000',
  WORKERS: '1',
  TRUST_PROXY: 'loopback',
  PUBLIC_BASE_URL: (v) => `http://127.0.0.1:${v('APP_PORT')}`,
  HOMEPAGE_URL: (v) => v('PUBLIC_BASE_URL'),
  DATA_DIR: 'data',
  DB_TYPE: 'sqlite',
  SQLITE_PATH: './data/app.sqlite',
  MYSQL_HOST: '127.0.0.1',
  MYSQL_PORT: '3306',
  MYSQL_USER: 'root',
  MYSQL_PASSWORD: '',
  MYSQL_DATABASE: 'image_classifier',
  MYSQL_POOL_SIZE: '10',
  DB_MIGRATE_ON_START: 'true',
  WECHAT_APPID: sandboxCredential('WECHAT_APPID'),
  WECHAT_SECRET: sandboxCredential('WECHAT_SECRET'),
  WECHAT_TOKEN: sandboxCredential('WECHAT_TOKEN'),
  WECHAT_ENCODING_AES_KEY: sandboxCredential('WECHAT_ENCODING_AES_KEY'),
  WECHAT_SANDBOX: (v) => (v('NODE_ENV') === 'development' ? 'true' : 'false'),
  SANDBOX_CALLBACK_BASE: (v) => v('PUBLIC_BASE_URL'),
  WECHAT_API_BASE: upstream('WECHAT_API_BASE', 'api'),
  WECHAT_OAUTH_BASE: upstream('WECHAT_OAUTH_BASE', 'open'),
  WECHAT_MP_BASE: upstream('WECHAT_MP_BASE', 'mp'),
  WECHAT_PAY_BASE: upstream('WECHAT_PAY_BASE', 'pay'),
  WECHAT_PAY_VERSION: 'v2',
  WECHAT_PAY_MCHID: sandboxCredential('WECHAT_PAY_MCHID'),
  WECHAT_PAY_API_KEY: sandboxCredential('WECHAT_PAY_API_KEY'),
  WECHAT_PAY_NOTIFY_URL: (v) => `${v('PUBLIC_BASE_URL')}/api/v1/payment/notify`,
  WECHAT_PAY_SIGN_TYPE: 'MD5',
  WECHAT_PAY_API_V3_KEY: sandboxCredential('WECHAT_PAY_API_V3_KEY'),
  WECHAT_PAY_PRIVATE_KEY_PATH: sandboxKeyFile(SANDBOX_KEY_FILES.merchantPrivateKey),
  WECHAT_PAY_CLIENT_CERT_P12_PATH: '',
  WECHAT_PAY_REFUND_NOTIFY_URL: (v) => `${v('PUBLIC_BASE_URL')}/api/v1/payment/refund-notify`,
  WECHAT_PAY_CERT_SERIAL: sandboxCredential('WECHAT_PAY_CERT_SERIAL'),
  WECHAT_PAY_PUBLIC_KEY_PATH: sandboxKeyFile(SANDBOX_KEY_FILES.platformPublicKey),
  WECHAT_PAY_PUBLIC_KEY_ID: sandboxCredential('WECHAT_PAY_PUBLIC_KEY_ID'),
  USE_TEST_PRICE: 'false',
  MEMBER_PRICE_PROD: '29.90',
  MEMBER_PRICE_TEST: '0.10',
  // CREDITS_PACKAGES_* have defaults too, but only when no legacy pair is set: payment/price-list.ts.
  INITIAL_CREDITS: '10',
  MEMBER_BONUS_CREDITS: '10',
  MEMBER_DURATION_DAYS: '0',
  ORDER_TTL_MINUTES: '30',
  MAX_PENDING_ORDERS_PER_USER: '5',
  QR_EXPIRE_SECONDS: '1800',
  WELCOME_TEXT: '欢迎关注！您已获得{credits}张图片编辑额度。',
  WELCOME_BACK_TEXT: '欢迎回来！',
  BIND_SUCCESS_TEXT: '已绑定电脑端，可返回电脑继续使用。',
  BIND_EXPIRED_TEXT: '二维码已过期，请在电脑端刷新二维码后重新扫码。',
  SESSION_TTL_SECONDS: '7200',
  ALLOW_OPENID_HEADER: 'false',
  ADMIN_API_KEY: '',
  ADMIN_OPENIDS: '',
  CONSOLE_SESSION_MINUTES: '30',
  INTERNAL_API_TRANSPORT: (v) => (v('APP_ROLE') === 'web' ? 'http' : 'local'),
  INTERNAL_API_SECRET: '',
  INTERNAL_API_TIMEOUT_MS: '3000',
  CALLBACK_MAX_SKEW_SECONDS: '300',
  DOCS_ENABLED: (v) => (v('NODE_ENV') === 'production' ? 'false' : 'true'),
  LOG_LEVEL: 'info',
  RATE_LIMIT_PER_MINUTE: '120',
  ADMIN_AUTH_MAX_FAILURES: '10',
  ADMIN_AUTH_WINDOW_SECONDS: '900',
  NOTIFY_DATA_RETENTION_DAYS: '180',
  // Tests run a job when they mean to (runOnce/runFor), never on a timer, unless they ask.
  JOBS_ENABLED: (v) => String(v('NODE_ENV') !== 'test'),
  WECHAT_MESSAGE_MODE: 'plaintext',
  CALLBACK_BODY_LIMIT: '16kb',
  CALLBACK_MAX_XML_FIELDS: '64',
  JSON_MAX_DEPTH: '32',
  // Empty REDIS_URL = rate-limit counters in process memory (docs/limits.md).
  REDIS_URL: '',
  REDIS_KEY_PREFIX: 'image-classifier:',
};

/** Names read from somewhere else too: PORT (legacy) stands for APP_PORT when APP_PORT is unset. */
export const ENV_ALIASES: { readonly [K in keyof EnvSchema]?: readonly string[] } = { APP_PORT: ['PORT'] };

/** Taken as written, not trimmed (only empty counts as unset): a password or a reply text may begin or end with spaces. */
export const ENV_UNTRIMMED: ReadonlySet<keyof EnvSchema> = new Set([
  'MYSQL_PASSWORD',
  'WELCOME_TEXT',
  'WELCOME_BACK_TEXT',
  'BIND_SUCCESS_TEXT',
  'BIND_EXPIRED_TEXT',
] as const);

/** Applied to the value (set or default) before anything else reads it. */
export const ENV_NORMALIZE: { readonly [K in keyof EnvSchema]?: (value: string) => string } = {
  PUBLIC_BASE_URL: (s) => s.replace(/\/+$/, ''),
  SANDBOX_CALLBACK_BASE: (s) => s.replace(/\/+$/, ''),
  LOG_LEVEL: (s) => s.toLowerCase(),
  WECHAT_MESSAGE_MODE: (s) => s.toLowerCase(),
};
