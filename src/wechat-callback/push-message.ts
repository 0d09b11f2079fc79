/** How a push arrived: plaintext, or encrypted (safe: Encrypt only; compatible: both). */
export type PushMode = 'plaintext' | 'compatible' | 'safe';

/** The fields of a verified, decoded push that the handler and the reply builder use. */
export interface PushMessage {
  mode: PushMode;
  /** FromUserName: the user's openid (checked against the openid shape). */
  openid: string;
  /** ToUserName: our account's id, the FromUserName of a passive reply. */
  toUserName: string;
  msgType: string;
  event: string;
  eventKey: string;
  /** WeChat's CreateTime as unix seconds, when it is a plain number. */
  createTime?: number;
}

/** The replay-guard claim of a push: its (timestamp, nonce) pair and the SHA-256 of its body. */
export interface PushClaim {
  timestamp: string;
  nonce: string;
  body_sha256: string;
}

/** What the verifier hands on: the decoded push and the claim to make when applying it. */
export interface VerifiedPush {
  message: PushMessage;
  claim: PushClaim;
}

/** The query WeChat sends on the verify URL; only single string values count. */
export interface CallbackQuery {
  signature?: string;
  timestamp?: string;
  nonce?: string;
  echostr?: string;
  openid?: string;
  encrypt_type?: string;
  msg_signature?: string;
}

const QUERY_KEYS: Array<keyof CallbackQuery> = ['signature', 'timestamp', 'nonce', 'echostr', 'openid', 'encrypt_type', 'msg_signature'];

/** Express' parsed query → CallbackQuery. A repeated parameter (array) counts as missing. */
export function toCallbackQuery(raw: unknown): CallbackQuery {
  const out: CallbackQuery = {};
  const src = (raw ?? {}) as Record<string, unknown>;
  for (const key of QUERY_KEYS) {
    const v = src[key];
    if (typeof v === 'string') out[key] = v;
  }
  return out;
}
