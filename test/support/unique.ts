/** A name no other test run uses: `prefix`, the time and a random tail (openids, transaction ids). */
export const uniq = (prefix: string): string => `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
