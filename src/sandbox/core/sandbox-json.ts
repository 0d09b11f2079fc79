/** A JSON object (not null, not an array): what WeChat's JSON APIs take as a body or a nested field. */
export function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
