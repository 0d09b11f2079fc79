import type { AppConfig } from '../../config/app-config';

/** The official account's original id ("gh_…") the sandbox writes into ToUserName. */
export const SANDBOX_ACCOUNT_ID = 'gh_5andb0x00001';

/** Not in config/sandbox-defaults: only the sandbox reads or writes it. */
export const PLATFORM_CERTIFICATE_FILE = 'wechatpay_platform_certificate.pem';

export const TOKEN_TTL_SECONDS = 7200;
/** WeChat keeps the previous access_token valid for 5 minutes after a new one is fetched. */
export const TOKEN_GRACE_SECONDS = 300;
export const OAUTH_CODE_TTL_SECONDS = 300;
/** WeChat Pay keeps an unpaid prepay order payable for 2 hours unless time_expire says otherwise. */
export const PREPAY_TTL_SECONDS = 7200;
/** Merchant request timestamps further off than this are refused (APIv3). */
export const V3_MAX_SKEW_SECONDS = 300;

/** Pay notifications: first attempt at once, then these pauses (WeChat's real schedule spans a day). */
export const NOTIFY_RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000];
/** Pushes: WeChat retries three times when the server does not answer. */
export const PUSH_RETRY_DELAYS_MS = [500, 1000, 2000];
/** WeChat gives our callbacks 5 seconds. */
export const OUTGOING_TIMEOUT_MS = 5000;

export const DEFAULT_SLOW_MS = 10_000;
export const MAX_SLOW_MS = 60_000;
export const DEFAULT_LATE_MS = 2000;
export const MAX_LATE_MS = 60_000;

export const OPENID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Defence in depth: loadConfig already refuses WECHAT_SANDBOX in production; every sandbox
 * entry point refuses again, so a hand-built config cannot mount a fake WeChat in production.
 */
export function assertSandboxAllowed(config: Pick<AppConfig, 'env'>): void {
  if (config.env === 'production') {
    throw new Error('The WeChat sandbox cannot be constructed in production (NODE_ENV=production)');
  }
}

/** `refund: auto`: a refund succeeds (and is notified) this long after it was asked for. */
export const REFUND_AUTO_COMPLETE_MS = 300;
/** A v3 bill `download_url` works this long (WeChat: 30 s). */
export const BILL_DOWNLOAD_TTL_MS = 30_000;
/** `POST /sandbox/actions/refund` with `notify: duplicate`: at most this many concurrent copies. */
export const MAX_REFUND_NOTIFY_COPIES = 20;
