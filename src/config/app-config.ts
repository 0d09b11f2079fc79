export type NodeEnv = 'development' | 'test' | 'production';
export type AppRole = 'all' | 'web' | 'app';

/**
 * One credit price list as configured: `CREDITS_PACKAGES_*`, or the legacy pair `CREDITS_AMOUNTS_*` ×
 * `CREDITS_PRICE_*` (unset = undefined). The schema checks the syntax; what the list means and which
 * lists are refused is payment's (payment/price-list.ts).
 */
export interface PriceListVariables {
  packages?: string;
  amounts?: string;
  unitPrice?: string;
}

export interface ReplyTexts {
  welcome: string;
  welcomeBack: string;
  bindSuccess: string;
  bindExpired: string;
}

/**
 * The validated, typed configuration. Built once by `loadConfig` from the environment; injected
 * everywhere through the `AppConfig` token. Nothing else reads process.env.
 */
export class AppConfig {
  env!: NodeEnv;
  role!: AppRole;
  version!: string;
  /** Folder for development state: SQLite file, generated session secret, sandbox keys. */
  dataDir!: string;
  http!: {
    host: string;
    port: number;
    workers: number;
    trustProxy: boolean | number | string;
    publicBaseUrl: string;
    homepageUrl: string;
    docsEnabled: boolean;
    rateLimitPerMinute: number;
  };
  log!: { level: string; pretty: boolean };
  db!: {
    type: 'sqlite' | 'mysql';
    sqlitePath: string;
    mysql: { host: string; port: number; user: string; password: string; database: string; poolSize: number };
    migrateOnStart: boolean;
  };
  wechat!: {
    appId: string;
    secret: string;
    token: string;
    encodingAesKey: string;
    sandbox: boolean;
    sandboxCallbackBase: string;
    /** The sandbox also serves WeChat's APIs at `/` on this port (SANDBOX_HOSTS_PORT); null: off. */
    sandboxHostsPort: number | null;
    apiBase: string;
    oauthBase: string;
    mpBase: string;
    callbackMaxSkewSeconds: number;
    texts: ReplyTexts;
  };
  pay!: {
    base: string;
    version: 'v2' | 'v3';
    mchId: string;
    apiKey: string;
    notifyUrl: string;
    signType: 'MD5' | 'HMAC-SHA256';
    apiV3Key: string;
    privateKeyPath: string;
    certSerial: string;
    publicKeyPath: string;
    publicKeyId: string;
    /** v2 refunds: the merchant API client certificate (PKCS#12, password = mch id); '' = not configured. */
    clientCertP12Path: string;
    /** v2 refund notifications (`WECHAT_PAY_REFUND_NOTIFY_URL`). */
    refundNotifyUrl: string;
  };
  pricing!: {
    useTestPrice: boolean;
    memberPriceFen: number;
    /** Both lists are checked at start whichever USE_TEST_PRICE picks (payment/price-list.ts). */
    priceLists: { PROD: PriceListVariables; TEST: PriceListVariables };
    initialCredits: number;
    memberBonusCredits: number;
    memberDurationDays: number;
    orderTtlMinutes: number;
    /** Orders and credits limits (issue 12, docs/limits.md): unexpired pending orders per user. */
    maxPendingOrdersPerUser: number;
  };
  qr!: { expireSeconds: number };
  session!: { secret: string; ttlSeconds: number; allowOpenidHeader: boolean };
  admin!: {
    apiKey: string;
    /** Admin and metrics brute-force brake (ADMIN_AUTH_MAX_FAILURES, ADMIN_AUTH_WINDOW_SECONDS). */
    authFailures: { maxFailures: number; windowSeconds: number };
  };
  /** Operator console (docs/operator-guide.md): openids allowed to log in (empty = console off), session length. */
  console!: { adminOpenids: string[]; sessionMinutes: number };
  internal!: { transport: 'local' | 'http'; baseUrl: string; secret: string; timeoutMs: number };
  /** jobsEnabled: the background jobs run on their timers (JOBS_ENABLED; default off under NODE_ENV=test). */
  ops!: { notifyDataRetentionDays: number; jobsEnabled: boolean };
  /** What the service accepts from outside before any work (issue 12; docs/limits.md). */
  inbound!: {
    /** WECHAT_MESSAGE_MODE: compatible and safe refuse plaintext pushes. */
    messageMode: MessageMode;
    callbackBodyLimitBytes: number;
    callbackMaxXmlFields: number;
    jsonMaxDepth: number;
  };
  /** Shared rate limits: url '' = throttler counters in process memory (docs/limits.md). */
  redis!: { url: string; keyPrefix: string };
}

/** The message mode set in the Official Account console (消息加解密方式). */
export type MessageMode = 'plaintext' | 'compatible' | 'safe';
