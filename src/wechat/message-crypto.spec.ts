import { createCipheriv } from 'node:crypto';
import { WechatCryptoError } from './errors';
import { WechatMessageCrypto } from './message-crypto';
import { sha1Signature } from './signature';
import { parseWechatXml } from './xml';

// docs/test-vectors.md, "Message encryption (safe mode)"
const OPTIONS = { token: 'pamtest', encodingAesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', appId: 'wxb11529c136998cb6' };
const TIMESTAMP = '1409304348';
const NONCE = 'xxxxxx';
const RANDOM = Buffer.from('aaaabbbbccccdddd');
const SHORT_MSG = '我是中文abcd123';
const SHORT_ENCRYPT = 'jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==';
const XML_MSG =
  '<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>';
const XML_ENCRYPT =
  'jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb';
const XML_MSG_SIGNATURE = 'ea88b765074e41eb8c7a75b449db34fa2fd560d5';

const KEY = Buffer.from(`${OPTIONS.encodingAesKey}=`, 'base64');

function cryptoError(fn: () => unknown): WechatCryptoError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WechatCryptoError);
    return error as WechatCryptoError;
  }
  throw new Error('expected a WechatCryptoError');
}

function flipByte(b64: string, index: number): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[index] ^= 0x01;
  return bytes.toString('base64');
}

/** Encrypts an arbitrary (possibly invalid) plaintext with the vector key, no padding added. */
function rawEncrypt(plain: Buffer): string {
  const cipher = createCipheriv('aes-256-cbc', KEY, KEY.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

function frame(msg: Buffer, appId: string, lengthField = msg.length): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(lengthField, 0);
  return Buffer.concat([RANDOM, length, msg, Buffer.from(appId)]);
}

function pad32(plain: Buffer): Buffer {
  const pad = 32 - (plain.length % 32);
  return Buffer.concat([plain, Buffer.alloc(pad, pad)]);
}

describe('WechatMessageCrypto — published vectors', () => {
  const crypto = new WechatMessageCrypto(OPTIONS);

  it.each([
    ['Chinese text', SHORT_MSG, SHORT_ENCRYPT],
    ['video push XML', XML_MSG, XML_ENCRYPT],
  ])('encrypts the %s vector exactly', (_name, msg, expected) => {
    expect(crypto.encrypt(msg, RANDOM)).toBe(expected);
  });

  it.each([
    ['Chinese text', SHORT_ENCRYPT, SHORT_MSG],
    ['video push XML', XML_ENCRYPT, XML_MSG],
  ])('decrypts the %s vector exactly', (_name, encrypt, expected) => {
    expect(crypto.decrypt(encrypt)).toBe(expected);
  });

  it('computes the published msg_signature', () => {
    expect(crypto.msgSignature(TIMESTAMP, NONCE, XML_ENCRYPT)).toBe(XML_MSG_SIGNATURE);
    expect(crypto.verifyMsgSignature(XML_MSG_SIGNATURE, TIMESTAMP, NONCE, XML_ENCRYPT)).toBe(true);
    expect(crypto.verifyAndDecrypt(XML_MSG_SIGNATURE, TIMESTAMP, NONCE, XML_ENCRYPT)).toBe(XML_MSG);
  });
});

describe('WechatMessageCrypto — round trips', () => {
  const crypto = new WechatMessageCrypto(OPTIONS);

  it.each([
    ['empty', ''],
    ['one byte', 'a'],
    // 16 + 4 + 12 + 18 = 50 → not aligned; 16 + 4 + 26 + 18 = 64 → aligned, needs a full 32-byte pad block
    ['aligned plaintext', 'x'.repeat(26)],
    ['multi-byte', '欢迎关注！您已获得10张图片编辑额度。'],
    ['large', '<xml>'.padEnd(5000, 'y')],
  ])('%s message survives encrypt → decrypt with a fresh random prefix', (_name, msg) => {
    const first = crypto.encrypt(msg);
    const second = crypto.encrypt(msg);
    expect(first).not.toBe(second); // random prefix differs
    expect(Buffer.from(first, 'base64').length % 32).toBe(0);
    expect(crypto.decrypt(first)).toBe(msg);
    expect(crypto.decrypt(second)).toBe(msg);
  });

  it('adds a full 32-byte padding block when the plaintext is already aligned', () => {
    const encrypt = crypto.encrypt('x'.repeat(26), RANDOM);
    expect(Buffer.from(encrypt, 'base64').length).toBe(96);
  });

  it('builds an encrypted reply envelope that verifies and decrypts back to the reply', async () => {
    const reply = '<xml><ToUserName><![CDATA[o1]]></ToUserName><Content><![CDATA[欢迎回来！]]></Content></xml>';
    const envelope = crypto.buildEncryptedReply(reply, '1409304348', 'n0nce');
    expect(envelope).toMatch(
      /^<xml><Encrypt><!\[CDATA\[[A-Za-z0-9+/=]+\]\]><\/Encrypt><MsgSignature><!\[CDATA\[[0-9a-f]{40}\]\]><\/MsgSignature><TimeStamp>1409304348<\/TimeStamp><Nonce><!\[CDATA\[n0nce\]\]><\/Nonce><\/xml>$/,
    );
    const fields = await parseWechatXml(envelope);
    expect(fields.TimeStamp).toBe('1409304348');
    expect(fields.Nonce).toBe('n0nce');
    expect(fields.MsgSignature).toBe(sha1Signature(OPTIONS.token, '1409304348', 'n0nce', fields.Encrypt));
    expect(crypto.verifyAndDecrypt(fields.MsgSignature, fields.TimeStamp, fields.Nonce, fields.Encrypt)).toBe(reply);
  });

  it('refuses reply timestamps that are not digits and empty nonces', () => {
    expect(cryptoError(() => crypto.buildEncryptedReply('<xml/>', '1</TimeStamp><x>', 'n')).code).toBe('invalid_input');
    expect(cryptoError(() => crypto.buildEncryptedReply('<xml/>', '1409304348', '')).code).toBe('invalid_input');
  });

  it('refuses a random prefix that is not 16 bytes', () => {
    expect(cryptoError(() => crypto.encrypt('x', Buffer.alloc(15))).code).toBe('invalid_input');
  });
});

describe('WechatMessageCrypto — tampering and misuse', () => {
  const crypto = new WechatMessageCrypto(OPTIONS);

  it('rejects a flip of any ciphertext byte once msg_signature is checked', () => {
    const length = Buffer.from(XML_ENCRYPT, 'base64').length;
    for (let i = 0; i < length; i++) {
      const tampered = flipByte(XML_ENCRYPT, i);
      expect(cryptoError(() => crypto.verifyAndDecrypt(XML_MSG_SIGNATURE, TIMESTAMP, NONCE, tampered)).code).toBe('bad_signature');
    }
  });

  it('rejects a flip of any msg_signature character, and a changed timestamp or nonce', () => {
    for (let i = 0; i < XML_MSG_SIGNATURE.length; i++) {
      const sig = XML_MSG_SIGNATURE.slice(0, i) + (XML_MSG_SIGNATURE[i] === '0' ? '1' : '0') + XML_MSG_SIGNATURE.slice(i + 1);
      expect(crypto.verifyMsgSignature(sig, TIMESTAMP, NONCE, XML_ENCRYPT)).toBe(false);
    }
    expect(crypto.verifyMsgSignature(XML_MSG_SIGNATURE, '1409304349', NONCE, XML_ENCRYPT)).toBe(false);
    expect(crypto.verifyMsgSignature(XML_MSG_SIGNATURE, TIMESTAMP, 'xxxxxy', XML_ENCRYPT)).toBe(false);
    expect(crypto.verifyMsgSignature('', TIMESTAMP, NONCE, XML_ENCRYPT)).toBe(false);
  });

  it('decrypt alone rejects any flip outside the first block (CBC: the first block only alters the random prefix and one later byte, hence the signature check above)', () => {
    const length = Buffer.from(SHORT_ENCRYPT, 'base64').length;
    for (let i = 16; i < length; i++) {
      expect(() => crypto.decrypt(flipByte(SHORT_ENCRYPT, i))).toThrow(WechatCryptoError);
    }
  });

  it('rejects ciphertext from another appId, with code appid_mismatch', () => {
    const other = new WechatMessageCrypto({ ...OPTIONS, appId: 'wx0000000000000000' });
    expect(cryptoError(() => crypto.decrypt(other.encrypt(SHORT_MSG))).code).toBe('appid_mismatch');
    // A prefix of our appId is not our appId.
    const prefix = new WechatMessageCrypto({ ...OPTIONS, appId: 'wxb11529c136998cb' });
    expect(cryptoError(() => crypto.decrypt(prefix.encrypt(SHORT_MSG))).code).toBe('appid_mismatch');
  });

  it('rejects ciphertext made with another EncodingAESKey', () => {
    const other = new WechatMessageCrypto({ ...OPTIONS, encodingAesKey: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg' });
    expect(() => crypto.decrypt(other.encrypt(SHORT_MSG))).toThrow(WechatCryptoError);
    expect(() => crypto.decrypt(other.encrypt(XML_MSG))).toThrow(WechatCryptoError);
  });

  it.each([
    ['zero padding byte', 0],
    ['padding byte above 32', 33],
  ])('rejects %s', (_name, padByte) => {
    const plain = frame(Buffer.from('hello'), OPTIONS.appId);
    const body = Buffer.concat([plain, Buffer.alloc(64 - plain.length - 1, 7), Buffer.from([padByte])]);
    expect(cryptoError(() => crypto.decrypt(rawEncrypt(body))).code).toBe('bad_padding');
  });

  it('rejects padding whose bytes are not all equal', () => {
    const padded = pad32(frame(Buffer.from('hello'), OPTIONS.appId));
    const pad = padded[padded.length - 1];
    expect(pad).toBeGreaterThan(1);
    padded[padded.length - pad] ^= 0xff;
    expect(cryptoError(() => crypto.decrypt(rawEncrypt(padded))).code).toBe('bad_padding');
  });

  it('rejects a length field pointing past the plaintext', () => {
    const padded = pad32(frame(Buffer.from('hello'), OPTIONS.appId, 1000));
    expect(cryptoError(() => crypto.decrypt(rawEncrypt(padded))).code).toBe('bad_length');
  });

  it('rejects a plaintext shorter than random prefix + length field', () => {
    expect(cryptoError(() => crypto.decrypt(rawEncrypt(Buffer.concat([Buffer.alloc(16, 1), Buffer.alloc(16, 16)])))).code).toBe(
      'bad_length',
    );
  });

  it('rejects a message that is not valid UTF-8', () => {
    const padded = pad32(frame(Buffer.from([0xff, 0xfe]), OPTIONS.appId));
    expect(cryptoError(() => crypto.decrypt(rawEncrypt(padded))).code).toBe('bad_utf8');
  });

  it.each([
    ['empty', '', 'bad_base64'],
    ['not base64', 'not base64!', 'bad_base64'],
    ['non-canonical base64', `${SHORT_ENCRYPT.slice(0, -3)}h==`, 'bad_base64'],
    ['with whitespace', `${SHORT_ENCRYPT.slice(0, 8)}\n${SHORT_ENCRYPT.slice(8)}`, 'bad_base64'],
    ['not whole AES blocks', Buffer.alloc(20).toString('base64'), 'bad_block_length'],
  ])('rejects %s input with %s', (_name, input, code) => {
    expect(cryptoError(() => crypto.decrypt(input)).code).toBe(code);
  });

  it.each([
    ['short EncodingAESKey', { encodingAesKey: 'abc' }],
    ['44-character EncodingAESKey', { encodingAesKey: `${OPTIONS.encodingAesKey}=` }],
    ['EncodingAESKey with invalid characters', { encodingAesKey: `${OPTIONS.encodingAesKey.slice(0, 42)}!` }],
    ['empty token', { token: '' }],
    ['empty appId', { appId: '' }],
  ])('refuses a %s', (_name, override) => {
    expect(cryptoError(() => new WechatMessageCrypto({ ...OPTIONS, ...override })).code).toBe('invalid_config');
  });
});
