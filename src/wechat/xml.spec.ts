import { XmlRejectedError } from './errors';
import { buildXml, cdata, parseFlat, parseTree, parseWechatXml } from './xml';

async function rejection(body: string | Buffer, maxBytes?: number): Promise<XmlRejectedError> {
  try {
    await parseWechatXml(body, maxBytes);
  } catch (error) {
    expect(error).toBeInstanceOf(XmlRejectedError);
    return error as XmlRejectedError;
  }
  throw new Error('expected parseWechatXml to reject');
}

const SUBSCRIBE =
  '<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><FromUserName><![CDATA[oia2Tj]]></FromUserName>' +
  '<CreateTime>1407743423</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>' +
  '<EventKey><![CDATA[qrscene_bind_abc]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket></xml>';

describe('parseWechatXml', () => {
  it('returns the direct children as strings (CDATA and plain text alike)', async () => {
    await expect(parseWechatXml(SUBSCRIBE)).resolves.toEqual({
      ToUserName: 'gh_7f083739789a',
      FromUserName: 'oia2Tj',
      CreateTime: '1407743423',
      MsgType: 'event',
      Event: 'subscribe',
      EventKey: 'qrscene_bind_abc',
      Ticket: 'TICKET',
    });
  });

  it('accepts a Buffer, leading whitespace and a UTF-8 BOM', async () => {
    const expected = { a: '中文', b: '1' };
    await expect(parseWechatXml(Buffer.from('<xml><a>中文</a><b>1</b></xml>'))).resolves.toEqual(expected);
    await expect(parseWechatXml(' \r\n\t<xml><a>中文</a><b>1</b></xml>\n')).resolves.toEqual(expected);
    await expect(parseWechatXml('\uFEFF<xml><a>中文</a><b>1</b></xml>')).resolves.toEqual(expected);
    await expect(
      parseWechatXml(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<xml><a>中文</a><b>1</b></xml>')])),
    ).resolves.toEqual(expected);
  });

  it.each([
    '<?xml version="1.0"?><xml><a>1</a></xml>',
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<xml>\n  <a><![CDATA[1]]></a>\n</xml>',
    "\uFEFF <?xml version='1.0' encoding='utf-8'?><xml><a>1</a></xml>",
  ])('accepts one leading XML declaration (tenpay, WeChat Java SDK): %j', async (body) => {
    await expect(parseWechatXml(body)).resolves.toEqual({ a: '1' });
  });

  it('still refuses a second declaration', async () => {
    expect((await rejection('<?xml version="1.0"?><?xml version="1.0"?><xml/>')).code).toBe('not_xml');
  });

  it('gives empty elements as empty strings and ignores attributes', async () => {
    await expect(parseWechatXml('<xml><EventKey></EventKey><Ticket/><Id x="1">7</Id></xml>')).resolves.toEqual({
      EventKey: '',
      Ticket: '',
      Id: '7',
    });
  });

  it('decodes standard entities and keeps "]]>" split across CDATA sections', async () => {
    await expect(parseWechatXml('<xml><a>&lt;b&gt; &amp; &#x4e2d;</a><c><![CDATA[x]]]]><![CDATA[>y]]></c></xml>')).resolves.toEqual({
      a: '<b> & 中',
      c: 'x]]>y',
    });
  });

  it('omits nested elements (documented choice) and stray text', async () => {
    const body =
      '<xml><MsgType>video</MsgType>stray<Video><MediaId>m</MediaId></Video><ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo></xml>';
    await expect(parseWechatXml(body)).resolves.toEqual({ MsgType: 'video' });
  });

  it('never writes to the prototype', async () => {
    const fields = await parseWechatXml('<xml><__proto__>x</__proto__><constructor>c</constructor><toString>t</toString><a>1</a></xml>');
    expect(fields).toEqual({ a: '1' });
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
    expect(Object.hasOwn(fields, 'toString')).toBe(false);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('returns no fields for a root without children', async () => {
    await expect(parseWechatXml('<xml/>')).resolves.toEqual({});
    await expect(parseWechatXml('<xml>text</xml>')).resolves.toEqual({});
  });

  it('accepts a body of exactly maxBytes and rejects one byte more (counted in bytes, not characters)', async () => {
    const body = '<xml><a>中</a></xml>'; // 21 bytes, 19 characters
    expect(Buffer.byteLength(body)).toBe(21);
    await expect(parseWechatXml(body, 21)).resolves.toEqual({ a: '中' });
    expect((await rejection(body, 20)).code).toBe('too_large');
    expect((await rejection(Buffer.from(body), 20)).code).toBe('too_large');
  });

  it('rejects bodies over the 64 KiB default before parsing', async () => {
    const body = `<xml><a>${'x'.repeat(65536)}</a></xml>`;
    const error = await rejection(body);
    expect(error.code).toBe('too_large');
    expect(error.reason).toBe('too_large');
  });

  it.each([
    '<!DOCTYPE xml [<!ENTITY x "y">]><xml><a>&x;</a></xml>',
    '<xml><!DOCTYPE foo><a>1</a></xml>',
    '<xml><a><!ENTITY x SYSTEM "file:///etc/passwd"></a></xml>',
    '<xml><a><![CDATA[<!doctype html>]]></a></xml>',
    '<?xml version="1.0"?><!dOcTyPe lolz [<!EnTiTy lol "lol">]><xml/>',
  ])('rejects DOCTYPE/ENTITY anywhere, any case: %s', async (body) => {
    expect((await rejection(body)).code).toBe('doctype');
  });

  it.each([
    '',
    '   ',
    '{"xml":1}',
    'hello',
    '<?xml version="1.0"?><root/>',
    '<?xml?><xml/>',
    '<?xml version="1.0" foo="bar"?><xml/>',
    '<?xml-stylesheet href="a"?><xml/>',
    '<XML><a>1</a></XML>',
    '<root><a>1</a></root>',
    Buffer.from('<xml/>', 'utf16le'),
  ])('rejects a body that does not start with <xml: %j', async (body) => {
    expect((await rejection(body)).code).toBe('not_xml');
  });

  it.each([
    '<xml><a>1</a>',
    '<xml><a>1</b></xml>',
    '<xml><a>&unknown;</a></xml>',
    '<xmlfoo><a>1</a></xmlfoo>',
    '<xml><a>1</a></xml>trailing',
    '<xml><a>1</a></xml><xml><a>2</a></xml>',
    '<xml></xml><other/>',
    '<xml><total_fee>1</total_fee><total_fee>100</total_fee></xml>',
    '<xml <a>1</a></xml>',
  ])('rejects malformed or ambiguous XML: %s', async (body) => {
    expect((await rejection(body)).code).toBe('malformed');
  });

  it('maxFields: counts every element under the root (nested too) before parsing; CDATA content is not counted', async () => {
    const fields = (n: number) => `<xml>${Array.from({ length: n }, (_, i) => `<F${i}>v</F${i}>`).join('')}</xml>`;
    await expect(parseWechatXml(fields(64), 65536, { maxFields: 64 })).resolves.toHaveProperty('F63', 'v');
    try {
      await parseWechatXml(fields(65), 65536, { maxFields: 64 });
      throw new Error('expected a rejection');
    } catch (err) {
      expect((err as XmlRejectedError).code).toBe('too_many_fields');
    }
    await expect(parseWechatXml('<xml><A><B/><C/></A></xml>', 65536, { maxFields: 2 })).rejects.toMatchObject({ code: 'too_many_fields' });
    const markup = `<xml><Content><![CDATA[${'<a>'.repeat(500)}]]></Content></xml>`;
    await expect(parseWechatXml(markup, 65536, { maxFields: 1 })).resolves.toEqual({ Content: '<a>'.repeat(500) });
    // Without the option (WeChat Pay answers such as refund queries) nothing is counted.
    await expect(parseWechatXml(fields(300))).resolves.toHaveProperty('F299', 'v');
  });

  it('can parse a different root when asked (v2 refund req_info uses <root>)', async () => {
    await expect(parseWechatXml('<root><out_refund_no>R1</out_refund_no></root>', 65536, { rootName: 'root' })).resolves.toEqual({
      out_refund_no: 'R1',
    });
    await expect(parseWechatXml('<xml><a>1</a></xml>', 65536, { rootName: 'root' })).rejects.toMatchObject({ code: 'not_xml' });
  });
});

describe('buildXml', () => {
  it('writes strings in CDATA and numbers bare, in insertion order', () => {
    expect(buildXml({ ToUserName: 'o1', FromUserName: 'gh_1', CreateTime: 1407743423, MsgType: 'text', Content: '欢迎关注！' })).toBe(
      '<xml><ToUserName><![CDATA[o1]]></ToUserName><FromUserName><![CDATA[gh_1]]></FromUserName>' +
        '<CreateTime>1407743423</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[欢迎关注！]]></Content></xml>',
    );
  });

  it('splits "]]>" so the value cannot close the CDATA section early', () => {
    expect(cdata('a]]>b]]>')).toBe('<![CDATA[a]]]]><![CDATA[>b]]]]><![CDATA[>]]>');
  });

  it('round-trips through parseWechatXml, including markup-looking values', async () => {
    const fields = {
      return_code: 'FAIL',
      return_msg: '</return_msg><return_code>SUCCESS</return_code>]]><x>',
      n: 42,
      empty: '',
      zh: '中文\n第二行',
    };
    await expect(parseWechatXml(buildXml(fields))).resolves.toEqual({ ...fields, n: '42' });
  });

  it.each([
    ['bad name', 'x'],
    ['1a', 'x'],
    ['a<b', 'x'],
    ['', 'x'],
  ])('rejects invalid element name %j', (name, value) => {
    expect(() => buildXml({ [name]: value })).toThrow(TypeError);
  });

  it('rejects values XML cannot carry', () => {
    expect(() => buildXml({ a: 'x\u0000y' })).toThrow(TypeError);
    expect(() => buildXml({ a: Number.NaN })).toThrow(TypeError);
    expect(() => buildXml({ a: Number.POSITIVE_INFINITY })).toThrow(TypeError);
  });
});

describe('parseWechatXml — characters XML 1.0 forbids', () => {
  it.each(['\u0000', '\u0001', '\u000b', '\u001f', '\uffff'])('refuses %j even inside CDATA', async (ch) => {
    await expect(parseWechatXml(`<xml><Content><![CDATA[a${ch}b]]></Content></xml>`)).rejects.toMatchObject({ code: 'malformed' });
  });

  it('keeps tab, CR and LF', async () => {
    expect((await parseWechatXml('<xml><Content><![CDATA[a\tb\r\nc]]></Content></xml>')).Content).toContain('\t');
  });
});

describe('parseWechatXml — the flat fast path decides nothing on its own', () => {
  /** A deterministic generator (mulberry32), so a failure names a document that can be replayed. */
  function random(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

  const NAMES = ['return_code', 'out_trade_no', 'total_fee', 'a', 'A.b-c_1', 'xml', '__proto__', 'constructor', 'toString', '1bad', 'a:b'];
  const PIECES = [
    'abc',
    '42',
    ' ',
    '  x  ',
    '\t',
    '\n',
    '\r\n',
    '\u00a0',
    '中文',
    '>',
    ']]>',
    '&amp;',
    '&lt;b&gt;',
    '&#20013;',
    '&bogus;',
    '<![CDATA[x]]>',
    '<![CDATA[ ]]>',
    '<![CDATA[]]>',
    '<![CDATA[a]]b]]>',
    '<![CDATA[<b>&amp;</b>]]>',
    '<![CDATA[\r\n]]>',
    '<b>n</b>',
    '<b/>',
    '<!-- c -->',
    '<?pi x?>',
    '<![CDATA[open',
  ];
  const BETWEEN = ['', '', ' ', '\n  ', '\r\n', '\u00a0', 'junk', '<!-- c -->'];
  const AFTER = ['', '', '\n', ' \r\n', '\u00a0', 'x', '<xml></xml>', '<!-- c -->'];
  const OPEN = ['<xml>', '<xml>', '<xml>', '<xml >', '<xml a="1">'];

  /** Half the documents only use what the fast path takes, the other half anything. */
  const PLAIN = {
    open: ['<xml>'],
    between: ['', ' ', '\n  ', '\r\n', '\t'],
    after: ['', '\n', ' \r\n'],
    pieces: [
      'abc',
      '42',
      ' ',
      '  x  ',
      '\t',
      '\n',
      '\u00a0',
      '中文',
      '>',
      '<![CDATA[x]]>',
      '<![CDATA[ ]]>',
      '<![CDATA[]]>',
      '<![CDATA[a]]b]]>',
    ],
    names: NAMES.slice(0, 6),
  };
  const ANY = { open: OPEN, between: BETWEEN, after: AFTER, pieces: PIECES, names: NAMES };

  function document(r: () => number): string {
    const p = r() < 0.5 ? PLAIN : ANY;
    let out = pick(r, p.open) + pick(r, p.between);
    const fields = Math.floor(r() * 5);
    for (let f = 0; f < fields; f++) {
      const name = pick(r, p.names);
      let value = '';
      for (let k = Math.floor(r() * 4); k > 0; k--) value += pick(r, p.pieces);
      out += p === ANY && r() < 0.05 ? `<${name}/>` : `<${name}>${value}</${name}>`;
      out += pick(r, p.between);
    }
    return out + (p === ANY && r() < 0.03 ? '</xm>' : '</xml>') + pick(r, p.after);
  }

  function outcome(parse: () => Record<string, string>): unknown {
    try {
      return { fields: parse() };
    } catch (err) {
      return { refused: (err as XmlRejectedError).code };
    }
  }

  it('on 20 000 generated documents it answers exactly as the xml2js path does, or declines', () => {
    const r = random(20261207);
    let fast = 0;
    for (let n = 0; n < 20_000; n++) {
      const doc = document(r);
      const flat = parseFlat(doc, 'xml');
      if (flat === undefined) continue;
      fast++;
      // The fast path answered: the general path must give the very same fields, and not refuse.
      expect({ doc, ...(outcome(() => parseTree(doc, 'xml')) as object) }).toEqual({ doc, fields: flat });
    }
    // Not vacuous: most plain documents take the fast path.
    expect(fast).toBeGreaterThan(6000);
  });

  it('WeChat Pay notifications and pushes as WeChat writes them take the fast path', () => {
    const notify = buildXml({ appid: 'wx2421b1c4370ec43b', return_code: 'SUCCESS', total_fee: 100, sign: 'ABC' });
    expect(parseFlat(notify, 'xml')).toEqual({ appid: 'wx2421b1c4370ec43b', return_code: 'SUCCESS', total_fee: '100', sign: 'ABC' });
    const push = '<xml>\n  <ToUserName><![CDATA[gh_1]]></ToUserName>\n  <CreateTime>1348831860</CreateTime>\n</xml>\n';
    expect(parseFlat(push, 'xml')).toEqual({ ToUserName: 'gh_1', CreateTime: '1348831860' });
  });
});
