import type { AppConfig } from '../../config/app-config';
import { DEFAULT_SLOW_MS } from './sandbox.constants';

export type PushMode = 'plain' | 'compatible' | 'safe';

/** Fault knobs (`POST /sandbox/faults`). */
export interface SandboxFaults {
  /** `40001-once`: the next API call with a valid token gets 40001 and the token dies. `down`: the token endpoints drop the connection. */
  token: '40001-once' | 'down' | null;
  /** `down`: every `/sandbox/api/*` endpoint drops the connection. */
  api: 'down' | null;
  /** Every `/sandbox/pay/*` endpoint: drop the connection, answer after `slow_ms`, or sign answers and notifications wrongly. */
  pay: 'down' | 'slow' | 'bad_signature' | null;
  /** `drop`: pay and refund notifications are never sent (recorded as dropped). */
  notify: 'drop' | null;
  /** `auto`: a refund succeeds shortly after it is asked for and is notified; `manual`: it stays PROCESSING until `POST /sandbox/actions/refund`. */
  refund: 'auto' | 'manual';
  /** Which id goes into `Wechatpay-Serial`: the public key id (default) or the platform certificate serial. */
  v3_serial: 'public_key' | 'certificate';
  push_mode: PushMode;
  slow_ms: number;
}

/** Every fault off; pushes encrypted (safe mode) when an EncodingAESKey is configured. */
export function defaultFaults(config: AppConfig): SandboxFaults {
  return {
    token: null,
    api: null,
    pay: null,
    notify: null,
    refund: 'auto',
    v3_serial: 'public_key',
    push_mode: config.wechat.encodingAesKey ? 'safe' : 'plain',
    slow_ms: DEFAULT_SLOW_MS,
  };
}
