/**
 * The one declaration of every environment variable (name, type, range, role), read by load-config.ts
 * and checked against .env.example by env-example.spec.ts. Longer than the ~350 lines a file here
 * usually stays under on purpose: it is a flat list of 82 decorated fields, and one place to read
 * every setting is the point of it; split by topic, a variable's declaration would be harder to find.
 */
import { Transform } from 'class-transformer';
import {
  getMetadataStorage,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';

/** Parses "true/false/1/0/yes/no/on/off"; anything else is left as-is so validation names it. */
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};

/** "16kb" / "1mb" / "16384" → bytes; anything else stays a string and fails @IsInt. */
const toBytes = ({ value }: { value: unknown }) => {
  const m = typeof value === 'string' ? /^(\d+)\s*(b|kb|mb)?$/i.exec(value.trim()) : null;
  if (!m) return value;
  return Number(m[1]) * { b: 1, kb: 1024, mb: 1024 * 1024 }[(m[2] ?? 'b').toLowerCase() as 'b' | 'kb' | 'mb'];
};

/** Strict integer parsing: "12" → 12; "12abc", "1.5", "" stay strings and fail @IsInt. */
const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value);

const YUAN = /^\d+(\.\d{1,2})?$/;
const PACKAGES = /^\s*\d+\s*:\s*\d+(\.\d{1,2})?\s*([;,]\s*\d+\s*:\s*\d+(\.\d{1,2})?\s*)*[;,]?\s*$/;

/**
 * Long by nature (one declaration and its checks per variable, about 80 of them); the defaults are in
 * env-defaults.ts, the reading in load-config.ts.
 *
 * The one declaration of every variable (docs/config.md; `.env.example` lists the same names): the
 * raw environment after aliases and defaults (env-defaults.ts) are applied. Every property is a
 * variable name; the validator's messages name them.
 */
export class EnvSchema {
  @IsIn(['development', 'test', 'production'])
  NODE_ENV!: 'development' | 'test' | 'production';

  @IsIn(['all', 'web', 'app'])
  APP_ROLE!: 'all' | 'web' | 'app';

  @IsString()
  @MinLength(1)
  APP_HOST!: string;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  APP_PORT!: number;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(64)
  WORKERS!: number;

  @IsString()
  @Matches(/^(true|false|\d+|loopback|linklocal|uniquelocal|[0-9a-fA-F.:/]+)(\s*,\s*(loopback|linklocal|uniquelocal|[0-9a-fA-F.:/]+))*$/, {
    message: 'must be a hop count, true/false, or a comma-separated list of IPs/CIDRs/loopback',
  })
  TRUST_PROXY!: string;

  @Matches(/^https?:\/\/[^\s/?#]+(:\d+)?(\/[^\s?#]*)?$/, { message: 'must be an http(s) origin such as https://www.example.com' })
  PUBLIC_BASE_URL!: string;

  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' })
  HOMEPAGE_URL!: string;

  /** Development state: the generated session secret, the sandbox keys (relative to the working directory). */
  @IsString()
  @MinLength(1)
  DATA_DIR!: string;

  @IsIn(['sqlite', 'mysql'])
  DB_TYPE!: 'sqlite' | 'mysql';

  @IsString()
  @MinLength(1)
  SQLITE_PATH!: string;

  @IsString()
  @MinLength(1)
  MYSQL_HOST!: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  MYSQL_PORT!: number;

  @IsString()
  @MinLength(1)
  MYSQL_USER!: string;

  @IsString()
  MYSQL_PASSWORD!: string;

  @Matches(/^[A-Za-z0-9_$]{1,64}$/, { message: 'must be a plain database name' })
  MYSQL_DATABASE!: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  MYSQL_POOL_SIZE!: number;

  @Transform(toBool)
  @IsBoolean()
  DB_MIGRATE_ON_START!: boolean;

  @IsString()
  @MaxLength(64)
  WECHAT_APPID!: string;

  @IsString()
  @MaxLength(128)
  WECHAT_SECRET!: string;

  @IsString()
  @Matches(/^[A-Za-z0-9]{0,32}$/, { message: 'must be 3-32 letters or digits (as in the WeChat console)' })
  WECHAT_TOKEN!: string;

  @IsString()
  @Matches(/^([A-Za-z0-9]{43})?$/, { message: 'must be exactly 43 letters or digits, or empty' })
  WECHAT_ENCODING_AES_KEY!: string;

  @Transform(toBool)
  @IsBoolean()
  WECHAT_SANDBOX!: boolean;

  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' })
  SANDBOX_CALLBACK_BASE!: string;

  // Sandbox hosts listener (issue 16, docs/sandbox-sdk.md): WeChat's APIs served at `/` on their own
  // port, as the real hosts serve them, for SDKs that take only a base URL. Unset: no second listener.
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  SANDBOX_HOSTS_PORT?: number;

  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' })
  WECHAT_API_BASE!: string;

  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' })
  WECHAT_OAUTH_BASE!: string;

  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' })
  WECHAT_MP_BASE!: string;

  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' })
  WECHAT_PAY_BASE!: string;

  @IsIn(['v2', 'v3'])
  WECHAT_PAY_VERSION!: 'v2' | 'v3';

  @IsString()
  @Matches(/^\d{0,32}$/, { message: 'must be the numeric merchant id' })
  WECHAT_PAY_MCHID!: string;

  @IsString()
  @Matches(/^([A-Za-z0-9]{32})?$/, { message: 'must be 32 letters or digits' })
  WECHAT_PAY_API_KEY!: string;

  @Matches(/^https?:\/\/[^\s?#]+$/, { message: 'must be an http(s) URL without query string' })
  WECHAT_PAY_NOTIFY_URL!: string;

  @IsIn(['MD5', 'HMAC-SHA256'])
  WECHAT_PAY_SIGN_TYPE!: 'MD5' | 'HMAC-SHA256';

  @IsString()
  @Matches(/^([\x21-\x7e]{32})?$/, { message: 'must be 32 bytes' })
  WECHAT_PAY_API_V3_KEY!: string;

  @IsString()
  WECHAT_PAY_PRIVATE_KEY_PATH!: string;

  /** v2 `secapi/pay/refund`: the merchant's API client certificate (apiclient_cert.p12, password = mch id). */
  @IsString()
  WECHAT_PAY_CLIENT_CERT_P12_PATH!: string;

  @Matches(/^https?:\/\/[^\s?#]+$/, { message: 'must be an http(s) URL without query string' })
  WECHAT_PAY_REFUND_NOTIFY_URL!: string;

  @IsString()
  @Matches(/^[0-9A-Fa-f]{0,64}$/, { message: 'must be the hex certificate serial' })
  WECHAT_PAY_CERT_SERIAL!: string;

  @IsString()
  WECHAT_PAY_PUBLIC_KEY_PATH!: string;

  @IsString()
  @Matches(/^(PUB_KEY_ID_[0-9A-Za-z]+)?$/, { message: 'must look like PUB_KEY_ID_...' })
  WECHAT_PAY_PUBLIC_KEY_ID!: string;

  @Transform(toBool)
  @IsBoolean()
  USE_TEST_PRICE!: boolean;

  @Matches(YUAN, { message: 'must be a yuan amount with at most 2 decimals' })
  MEMBER_PRICE_PROD!: string;

  @Matches(YUAN, { message: 'must be a yuan amount with at most 2 decimals' })
  MEMBER_PRICE_TEST!: string;

  @IsOptional()
  @Matches(PACKAGES, { message: 'must be credits:price pairs separated by ";", e.g. 10:9.9;20:18' })
  CREDITS_PACKAGES_PROD?: string;

  @IsOptional()
  @Matches(PACKAGES, { message: 'must be credits:price pairs separated by ";", e.g. 1:0.01;5:0.05' })
  CREDITS_PACKAGES_TEST?: string;

  @IsOptional()
  @Matches(/^\s*\d+(\s*[,;]\s*\d+)*\s*$/, { message: 'must be a comma-separated list of credit amounts' })
  CREDITS_AMOUNTS_PROD?: string;

  @IsOptional()
  @Matches(/^\s*\d+(\s*[,;]\s*\d+)*\s*$/, { message: 'must be a comma-separated list of credit amounts' })
  CREDITS_AMOUNTS_TEST?: string;

  @IsOptional()
  @Matches(/^\d+(\.\d{1,4})?$/, { message: 'must be a yuan unit price' })
  CREDITS_PRICE_PROD?: string;

  @IsOptional()
  @Matches(/^\d+(\.\d{1,4})?$/, { message: 'must be a yuan unit price' })
  CREDITS_PRICE_TEST?: string;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100000)
  INITIAL_CREDITS!: number;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100000)
  MEMBER_BONUS_CREDITS!: number;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(36500)
  MEMBER_DURATION_DAYS!: number;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1440)
  ORDER_TTL_MINUTES!: number;

  // --- Orders and credits limits (issue 12, docs/limits.md): pending orders one user may hold.
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  MAX_PENDING_ORDERS_PER_USER!: number;

  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(2592000)
  QR_EXPIRE_SECONDS!: number;

  @IsString()
  @Length(1, 600)
  WELCOME_TEXT!: string;

  @IsString()
  @Length(1, 600)
  WELCOME_BACK_TEXT!: string;

  @IsString()
  @Length(1, 600)
  BIND_SUCCESS_TEXT!: string;

  @IsString()
  @Length(1, 600)
  BIND_EXPIRED_TEXT!: string;

  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'must be at least 16 characters' })
  SESSION_SECRET?: string;

  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(30 * 86400)
  SESSION_TTL_SECONDS!: number;

  @Transform(toBool)
  @IsBoolean()
  ALLOW_OPENID_HEADER!: boolean;

  @IsString()
  ADMIN_API_KEY!: string;

  // Operator console (docs/operator-guide.md): who may log in by QR, and how long a session lasts.
  @Matches(/^\s*([A-Za-z0-9_-]{1,64}\s*(,\s*[A-Za-z0-9_-]{1,64}\s*)*)?,?\s*$/, { message: 'must be a comma-separated list of openids' })
  ADMIN_OPENIDS!: string;

  @Transform(toInt)
  @IsInt()
  @Min(5)
  @Max(480)
  CONSOLE_SESSION_MINUTES!: number;

  @IsIn(['local', 'http'])
  INTERNAL_API_TRANSPORT!: 'local' | 'http';

  @IsOptional()
  @Matches(/^https?:\/\/[^\s/?#]+(:\d+)?\/?$/, { message: 'must be an origin such as http://10.0.0.2:8000' })
  INTERNAL_API_BASE_URL?: string;

  @IsString()
  INTERNAL_API_SECRET!: string;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(60000)
  INTERNAL_API_TIMEOUT_MS!: number;

  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(86400)
  CALLBACK_MAX_SKEW_SECONDS!: number;

  @Transform(toBool)
  @IsBoolean()
  DOCS_ENABLED!: boolean;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL!: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000000)
  RATE_LIMIT_PER_MINUTE!: number;

  // Admin and metrics brute-force brake (docs/limits.md "Admin and metrics").
  /** Wrong admin keys / metrics credentials per client IP within the window before it gets 429. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100000)
  ADMIN_AUTH_MAX_FAILURES!: number;

  /** The counting window, and how long a blocked IP is refused (the right key included). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86400)
  ADMIN_AUTH_WINDOW_SECONDS!: number;

  /** Raw `notify_data` of payments and refunds is cleared after this many days (amounts, ids, times stay). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(36500)
  NOTIFY_DATA_RETENTION_DAYS!: number;

  /** Background jobs (expiry, refund sync, reconciliation, retention) on their timers; off by default under NODE_ENV=test. */
  @Transform(toBool)
  @IsBoolean()
  JOBS_ENABLED!: boolean;

  // --- Callback and request-body hardening (issue 12; docs/limits.md) ---
  /** The account's message mode in the WeChat console: compatible/safe refuse plaintext pushes (403). */
  @IsIn(['plaintext', 'compatible', 'safe'])
  WECHAT_MESSAGE_MODE!: string;

  /** Body cap of the callback URLs (`16kb`, `4096`, …): WeChat's bodies are a few KB. */
  @Transform(toBytes)
  @IsInt({ message: 'must be a size such as 16kb or 16384' })
  @Min(1024)
  @Max(1024 * 1024)
  CALLBACK_BODY_LIMIT!: number;

  /** Most elements one callback XML document may hold, counted before parsing. */
  @Transform(toInt)
  @IsInt()
  @Min(16)
  @Max(4096)
  CALLBACK_MAX_XML_FIELDS!: number;

  /** Deepest nesting of a JSON request body, checked before parsing. */
  @Transform(toInt)
  @IsInt()
  @Min(4)
  @Max(512)
  JSON_MAX_DEPTH!: number;
  // Shared rate limits (docs/limits.md "Shared rate limits"): throttler counters in Redis when set.
  @Matches(/^(rediss?:\/\/\S+)?$/, { message: 'must be empty or a redis:// / rediss:// URL' })
  REDIS_URL!: string;

  @Matches(/^[A-Za-z0-9:_.-]{1,64}$/, { message: 'must be 1-64 characters of A-Z a-z 0-9 : _ . -' })
  REDIS_KEY_PREFIX!: string;
}

/** The declared variables, in declaration order (every property carries a validation decorator). */
export function envVariableNames(): Array<keyof EnvSchema> {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(EnvSchema, '', true, false);
  return [...new Set(metadata.map((m) => m.propertyName as keyof EnvSchema))];
}
