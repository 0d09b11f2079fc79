/** The counters of `GET /sandbox/stats`. */
export const STAT_NAMES = [
  'token_fetches',
  'stable_token_fetches',
  'token_errors',
  'api_calls',
  'api_errors',
  'oauth_codes_issued',
  'oauth_exchanges',
  'qrcodes_created',
  'menu_creates',
  'pushes_sent',
  'pay_requests_v2',
  'pay_requests_v3',
  'pay_auth_failures',
  'orders_placed',
  'payments',
  'notifications_sent',
  'notifications_acknowledged',
  'refunds',
  'bills_downloaded',
] as const;
export type StatName = (typeof STAT_NAMES)[number];

export function zeroStats(): Record<StatName, number> {
  return Object.fromEntries(STAT_NAMES.map((n) => [n, 0])) as Record<StatName, number>;
}
