import { Parser } from 'xml2js';
import { XmlRejectedError } from './errors';

export interface ParseWechatXmlOptions {
  /** Expected root element. WeChat's documents use `xml`; a decrypted v2 refund `req_info` uses `root`. */
  rootName?: string;
  /** Most elements under the root (nested ones included), counted before parsing; callbacks pass CALLBACK_MAX_XML_FIELDS. */
  maxFields?: number;
}

/**
 * One leading XML declaration (`<?xml version="1.0" encoding="UTF-8"?>`), as tenpay and WeChat's own
 * Java SDK write it: version, then optional encoding and standalone, nothing else.
 */
const XML_DECLARATION =
  /^<\?xml\s+version\s*=\s*(["'])1\.\d\1(?:\s+encoding\s*=\s*(["'])[A-Za-z][A-Za-z0-9._-]*\2)?(?:\s+standalone\s*=\s*(["'])(?:yes|no)\3)?\s*\?>/;

const XML_PARSER_OPTIONS = {
  explicitArray: false,
  explicitRoot: true,
  ignoreAttrs: true,
  trim: true,
  strict: true,
  // Synchronous parsing lets us see every sax event before deciding (see below).
  async: false,
  // '#' cannot start an XML element name, so mixed text can never collide with a real field
  // (the default '_' is a legal element name).
  charkey: '#text',
} as const;

/**
 * Parses a WeChat XML body (pushes, v2 pay notifications) into a flat map of the root's direct
 * children. Values are always strings (CDATA and text alike; empty elements give '').
 *
 * Cheap textual checks run before any parsing: oversized bodies, any DOCTYPE/ENTITY declaration
 * (the XXE / billion-laughs vector — WeChat never sends one), and anything that does not start with
 * the expected root tag (after an optional leading XML declaration, which WeChat accepts).
 *
 * Choices:
 * - Nested elements (e.g. `<ScanCodeInfo>`, `<Video>`) are omitted: no field we act on is nested,
 *   and a stringified object would be a value no signature or mapper expects.
 * - A field that appears twice directly under the root is rejected as 'malformed': WeChat never
 *   repeats one, and picking either copy would let a body say two things at once.
 * - Trailing content after the root, a second root, unknown entities → 'malformed'.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- async so that every refusal is a rejection, as callers expect
export async function parseWechatXml(
  body: string | Buffer,
  maxBytes = 65536,
  options: ParseWechatXmlOptions = {},
): Promise<Record<string, string>> {
  const rootName = options.rootName ?? 'xml';
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  if (size > maxBytes) throw new XmlRejectedError('too_large', `body of ${size} bytes exceeds ${maxBytes}`);

  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new XmlRejectedError('doctype', 'DOCTYPE/ENTITY declarations are not accepted');

  const start = text
    .replace(/^\uFEFF/, '')
    .trimStart()
    .replace(XML_DECLARATION, '')
    .trimStart();
  if (!start.startsWith(`<${rootName}`)) throw new XmlRejectedError('not_xml', `body does not start with <${rootName}>`);
  // XML 1.0 forbids these characters anywhere, CDATA included; a parser that lets them through hands
  // later steps (reply building, the database) text they cannot carry.
  if (XML_INVALID_CHARS.test(text)) throw new XmlRejectedError('malformed', 'control characters are not allowed in XML');

  if (options.maxFields !== undefined && countElements(start) - 1 > options.maxFields) {
    throw new XmlRejectedError('too_many_fields', `more than ${options.maxFields} elements`);
  }

  return parseFlat(start, rootName) ?? parseTree(start, rootName);
}

/**
 * The general path: xml2js over sax, strict. Every document the fast path below declines comes
 * here, so what the service accepts and refuses is decided by this function alone.
 * @internal exported for the differential test in xml.spec.ts.
 */
export function parseTree(start: string, rootName: string): Record<string, string> {
  const parsed = parseStrict(start);
  const keys = Object.keys(parsed);
  if (keys.length !== 1 || keys[0] !== rootName) throw new XmlRejectedError('malformed', `root element is not <${rootName}>`);

  const root: unknown = parsed[rootName];
  const fields: Record<string, string> = {};
  // `<xml/>` or `<xml>text</xml>`: a root without child elements has no fields.
  if (typeof root !== 'object' || root === null) return fields;

  for (const [name, value] of Object.entries(root as Record<string, unknown>)) {
    if (name === XML_PARSER_OPTIONS.charkey) continue; // stray text between fields
    // Names such as __proto__ or constructor are legal XML but never WeChat fields; xml2js checks
    // `key in obj`, so it mangles them into arrays holding Object.prototype's member. Drop them.
    if (name in Object.prototype) continue;
    if (Array.isArray(value)) throw new XmlRejectedError('malformed', `field ${name} appears more than once`);
    if (typeof value !== 'string') continue; // nested element, see choices above
    fields[name] = value;
  }
  return fields;
}

const FLAT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** Whitespace as xml2js judges a value (JavaScript's \s). */
const WHITESPACE_ONLY = /^\s*$/;
/** Whitespace as XML (and sax, strict) judges the space between and after elements. */
const XML_SPACE_ONLY = /^[ \t\r\n]*$/;

/**
 * The fast path for what WeChat actually sends — `<root>` then `<name>value</name>` fields, each
 * value CDATA and/or plain text, whitespace between — in one linear scan, without building a sax
 * parser and xml2js's object tree for every notification (they were the largest app-specific cost
 * of a notification; docs/performance.md). It returns the very map `parseTree` returns for such a
 * document (values trimmed unless whitespace-only without CDATA, as xml2js does), and `undefined`
 * — "not mine, ask parseTree" — for anything else: attributes, entities, comments, processing
 * instructions, nested or repeated elements, carriage returns, text that is not whitespace between
 * fields, anything after the root. So it never accepts or refuses a document differently; the
 * differential test in xml.spec.ts holds it to that.
 * @internal exported for that test.
 */
export function parseFlat(text: string, rootName: string): Record<string, string> | undefined {
  const open = `<${rootName}>`;
  if (!text.startsWith(open)) return undefined;
  const close = `</${rootName}>`;
  const fields: Record<string, string> = {};
  let i = open.length;
  for (;;) {
    const lt = text.indexOf('<', i);
    if (lt < 0 || !XML_SPACE_ONLY.test(text.slice(i, lt))) return undefined;
    if (text.startsWith(close, lt)) {
      return XML_SPACE_ONLY.test(text.slice(lt + close.length)) ? fields : undefined;
    }
    const gt = text.indexOf('>', lt + 1);
    if (gt < 0) return undefined;
    const name = text.slice(lt + 1, gt);
    if (!FLAT_NAME.test(name) || name in Object.prototype || Object.prototype.hasOwnProperty.call(fields, name)) return undefined;
    const end = `</${name}>`;
    let value = '';
    let cdata = false;
    i = gt + 1;
    for (;;) {
      if (text.startsWith('<![CDATA[', i)) {
        const stop = text.indexOf(']]>', i + 9);
        if (stop < 0) return undefined;
        value += text.slice(i + 9, stop);
        // sax reports no event for an empty section, so for xml2js it is not CDATA at all.
        if (stop > i + 9) cdata = true;
        i = stop + 3;
        continue;
      }
      const next = text.indexOf('<', i);
      if (next < 0) return undefined;
      const chunk = text.slice(i, next);
      if (chunk.includes('&') || chunk.includes(']]>')) return undefined;
      value += chunk;
      i = next;
      if (text.startsWith(end, i)) break;
      if (!text.startsWith('<![CDATA[', i)) return undefined; // a nested element, a comment, …
    }
    if (value.includes('\r')) return undefined;
    fields[name] = cdata || !WHITESPACE_ONLY.test(value) ? value.trim() : value;
    i += end.length;
  }
}

/**
 * Start tags in the text, CDATA sections skipped: one linear scan, so a body with thousands of
 * fields is refused for the price of an indexOf loop instead of a parse.
 */
function countElements(text: string): number {
  let count = 0;
  for (let i = text.indexOf('<'); i >= 0; i = text.indexOf('<', i + 1)) {
    if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i + 9);
      if (end < 0) break; // unterminated: the parser refuses it
      i = end + 2;
    } else if (/[A-Za-z_:]/.test(text[i + 1] ?? '')) {
      count++;
    }
  }
  return count;
}

/**
 * xml2js resolves its promise on the first closed root and drops sax errors that come later
 * (trailing garbage, a second root). Listening to the events ourselves, a document is accepted only
 * when it produced exactly one result and no error.
 */
function parseStrict(text: string): Record<string, unknown> {
  const parser = new Parser(XML_PARSER_OPTIONS);
  const results: unknown[] = [];
  let failed = false;
  parser.on('end', (result: unknown) => results.push(result));
  parser.on('error', () => {
    failed = true;
  });
  try {
    parser.parseString(text);
  } catch {
    failed = true;
  }
  const result = results[0];
  if (failed || results.length !== 1 || typeof result !== 'object' || result === null) {
    throw new XmlRejectedError('malformed', 'body is not well-formed XML');
  }
  return result as Record<string, unknown>;
}

/** Characters XML 1.0 cannot carry at all, not even inside CDATA. */
// eslint-disable-next-line no-control-regex -- the control characters XML forbids are what it finds
const XML_INVALID_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const XML_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Wraps text in CDATA; a `]]>` inside is split across two sections so it cannot end the first early. */
export function cdata(value: string): string {
  if (XML_INVALID_CHARS.test(value)) throw new TypeError('value contains characters XML cannot represent');
  return `<![CDATA[${value.split(']]>').join(']]]]><![CDATA[>')}]]>`;
}

/**
 * Builds a WeChat-style `<xml>` document: strings in CDATA, numbers bare (WeChat's own
 * `<CreateTime>`, `<TimeStamp>` style). Field order is the object's insertion order.
 * Invalid names or values are programming errors and throw TypeError.
 */
export function buildXml(fields: Record<string, string | number>): string {
  let out = '<xml>';
  for (const [name, value] of Object.entries(fields)) {
    if (!XML_NAME.test(name)) throw new TypeError(`invalid XML element name: ${name}`);
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new TypeError(`field ${name} is not a finite number`);
      out += `<${name}>${String(value)}</${name}>`;
    } else {
      out += `<${name}>${cdata(value)}</${name}>`;
    }
  }
  return `${out}</xml>`;
}
