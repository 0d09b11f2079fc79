import { DomainError } from './errors';

/** 1–128 chars of [A-Za-z0-9_.:-] after trimming (docs/api.md). */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
export const CLIENT_ID_DETAIL = 'client_id格式错误';

/** The desktop's bearer key, trimmed and checked; anything else is 400 client_id格式错误. */
export function normalizeClientId(raw: unknown): string {
  const v = typeof raw === 'string' ? raw.trim() : '';
  if (!CLIENT_ID_PATTERN.test(v)) throw new DomainError(400, CLIENT_ID_DETAIL);
  return v;
}

/** class-transformer hook for DTOs: trim strings before validation. */
export const trimString = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
