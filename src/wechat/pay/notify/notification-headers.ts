import type { NotificationHeaders } from '../pay.client';

/**
 * A header by name, case-insensitively. A header sent twice (array of several) is ambiguous and
 * counts as absent: picking one copy would let a request say two things.
 */
export function headerValue(headers: NotificationHeaders | Record<string, unknown>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  let found: string | undefined;
  let count = 0;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined || value === null) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      count++;
      found = String(v);
    }
  }
  return count === 1 ? found : undefined;
}
