/**
 * Nesting guard of JSON request bodies (docs/limits.md, JSON_MAX_DEPTH). Runs in the body parser's
 * `verify` step, before JSON.parse: a body nested thousands deep otherwise parses fine and then
 * overflows the stack of whatever walks it recursively (the ValidationPipe's prototype stripping),
 * which answered 500 with a RangeError.
 */
export class JsonTooDeepError extends Error {
  /** body-parser keeps these: the parser error handler answers 400. */
  readonly status = 400;
  readonly type = 'entity.too.deep';

  constructor(readonly maxDepth: number) {
    super(`JSON body nested deeper than ${maxDepth} levels`);
    this.name = 'JsonTooDeepError';
  }
}

/**
 * True when objects/arrays in `buf` nest deeper than `maxDepth`. One pass over the bytes, strings
 * skipped (UTF-8 continuation bytes are ≥ 0x80, so they never look like brackets or quotes); it
 * stops as soon as the limit is crossed. Malformed JSON is left to JSON.parse.
 */
export function jsonNestsDeeperThan(buf: Buffer, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}
