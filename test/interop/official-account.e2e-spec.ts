import WXBizMsgCrypt from 'wechat-crypto';
import { Formatter, Transformer } from 'wechatpay-axios-plugin';
import { startAppOnFreshDb, TestApp } from '../setup/test-app';
import { wechatCrypto } from './support/sdk-peers';
import { uniq } from '../support/unique';

/**
 * The official-account callback URL checked with wechat-crypto 0.0.2 (WeChat's WXBizMsgCrypt for
 * Node), never with src/ (issue 16): GET verification signatures, pushes encrypted by the SDK in
 * safe and compatible mode, and the service's encrypted passive replies opened by the SDK
 * (msg_signature checked, appid checked). XML is read with wechatpay-axios-plugin's parser.
 */

const VERIFY = '/api/v1/auth/wechat/verify';
const ACCOUNT = 'gh_5andb0x00001';
const WELCOME = '欢迎关注！您已获得10张图片编辑额度。';

function subscribeXml(openid: string, declaration = ''): string {
  const now = Formatter.timestamp();
  return `${declaration}<xml><ToUserName><![CDATA[${ACCOUNT}]]></ToUserName><FromUserName><![CDATA[${openid}]]></FromUserName><CreateTime>${now}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>`;
}

describe('official account callbacks checked with wechat-crypto', () => {
  let app: TestApp;
  let sdk: WXBizMsgCrypt;

  /** The query WeChat adds to every callback: the plain signature over token, timestamp, nonce. */
  function signedQuery(extra: Record<string, string> = {}): URLSearchParams {
    const timestamp = String(Formatter.timestamp());
    const nonce = Formatter.nonce(10);
    // WXBizMsgCrypt's signature sorts [token, timestamp, nonce, encrypt]; an empty `encrypt` adds nothing.
    return new URLSearchParams({ signature: sdk.getSignature(timestamp, nonce, ''), timestamp, nonce, ...extra });
  }

  /** A push in `mode` as WeChat sends it, the ciphertext made by the SDK. */
  function push(mode: 'plaintext' | 'safe' | 'compatible', xml: string): { query: URLSearchParams; body: string } {
    const query = signedQuery();
    if (mode === 'plaintext') return { query, body: xml };
    const encrypt = sdk.encrypt(xml);
    query.set('encrypt_type', 'aes');
    query.set('msg_signature', sdk.getSignature(query.get('timestamp')!, query.get('nonce')!, encrypt));
    const body =
      mode === 'safe'
        ? `<xml><ToUserName><![CDATA[${ACCOUNT}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`
        : xml.replace('</xml>', `<Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`);
    return { query, body };
  }

  async function send(p: { query: URLSearchParams; body: string }): Promise<{ status: number; text: string }> {
    const res = await fetch(`${app.url}${VERIFY}?${p.query.toString()}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: p.body,
    });
    return { status: res.status, text: await res.text() };
  }

  /** Opens an encrypted passive reply as WeChat does: MsgSignature over TimeStamp, Nonce, Encrypt; then the plaintext and its appid. */
  function openEncryptedReply(text: string): Record<string, string> {
    const outer = Transformer.toObject(text) as Record<string, string>;
    expect(Object.keys(outer).sort()).toEqual(['Encrypt', 'MsgSignature', 'Nonce', 'TimeStamp']);
    expect(outer.MsgSignature).toBe(sdk.getSignature(String(outer.TimeStamp), String(outer.Nonce), outer.Encrypt));
    const { message, id } = sdk.decrypt(outer.Encrypt);
    expect(id).toBe(app.config.wechat.appId);
    return Transformer.toObject(message) as Record<string, string>;
  }

  beforeAll(async () => {
    app = await startAppOnFreshDb('sqlite', { WECHAT_SANDBOX: 'true' });
    sdk = wechatCrypto(app.config);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('GET verification signed by the SDK: the echostr comes back; one wrong character → 403', async () => {
    const query = signedQuery({ echostr: '5837397520665436492' });
    const ok = await fetch(`${app.url}${VERIFY}?${query.toString()}`);
    expect([ok.status, await ok.text()]).toEqual([200, '5837397520665436492']);
    query.set(
      'signature',
      query.get('signature')!.replace(/^./, (c) => (c === '0' ? '1' : '0')),
    );
    expect((await fetch(`${app.url}${VERIFY}?${query.toString()}`)).status).toBe(403);
  });

  it('safe-mode GET verification: echostr encrypted by the SDK, msg_signature by the SDK → the plaintext echostr', async () => {
    const encrypted = sdk.encrypt('1234567890987654321');
    const query = signedQuery({ echostr: encrypted });
    query.set('msg_signature', sdk.getSignature(query.get('timestamp')!, query.get('nonce')!, encrypted));
    const res = await fetch(`${app.url}${VERIFY}?${query.toString()}`);
    expect([res.status, await res.text()]).toEqual([200, '1234567890987654321']);
  });

  it.each(['safe', 'compatible'] as const)(
    '%s mode: a subscribe encrypted by the SDK gets an encrypted welcome the SDK opens',
    async (mode) => {
      const openid = uniq('oCrypto');
      const res = await send(push(mode, subscribeXml(openid)));
      expect(res.status).toBe(200);
      expect(openEncryptedReply(res.text)).toMatchObject({ ToUserName: openid, FromUserName: ACCOUNT, MsgType: 'text', Content: WELCOME });
    },
  );

  it('a push whose msg_signature does not match the SDK ciphertext is refused', async () => {
    const p = push('safe', subscribeXml(uniq('oForged')));
    p.query.set('msg_signature', sdk.getSignature(p.query.get('timestamp')!, p.query.get('nonce')!, sdk.encrypt(subscribeXml('oOther'))));
    expect((await send(p)).status).toBe(403);
  });

  it.each(['plaintext', 'safe'] as const)(
    "%s: a push that starts with an XML declaration (as WeChat's Java SDK writes it) is served",
    async (mode) => {
      const openid = uniq('oDecl');
      const res = await send(push(mode, subscribeXml(openid, '<?xml version="1.0" encoding="UTF-8"?>\n')));
      expect(res.status).toBe(200);
      const fields = mode === 'safe' ? openEncryptedReply(res.text) : (Transformer.toObject(res.text) as Record<string, string>);
      expect(fields).toMatchObject({ ToUserName: openid, Content: WELCOME });
    },
  );
});
