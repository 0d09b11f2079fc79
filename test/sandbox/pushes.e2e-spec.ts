import { WechatMessageCrypto } from '../../src/wechat/message-crypto';
import { sha1Signature } from '../../src/wechat/signature';
import { buildXml, parseWechatXml } from '../../src/wechat/xml';
import { eventually } from '../setup/test-app';
import {
  accessToken,
  cfg,
  createQr,
  getJson,
  nowSeconds,
  OPENID,
  postJson,
  type Received,
  receiver,
  Receiver,
  sb,
  VERIFY_PATH,
  useSandboxApp,
} from './harness';

/** Message and event pushes to the app, as WeChat sends them (plain, compatible and safe mode), and the server URL check. */
useSandboxApp();

describe('pushes to the app (scan, subscribe, unsubscribe)', () => {
  const crypto = () =>
    new WechatMessageCrypto({ token: cfg.wechat.token, encodingAesKey: cfg.wechat.encodingAesKey, appId: cfg.wechat.appId });

  async function qr(scene: string): Promise<string> {
    const token = await accessToken();
    return (await createQr(token, { expire_seconds: 1800, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: scene } } }))
      .ticket;
  }

  function expectSigned(r: Received, openid: string) {
    const q = r.query;
    expect(r.method).toBe('POST');
    expect(q.get('signature')).toBe(sha1Signature(cfg.wechat.token, q.get('timestamp')!, q.get('nonce')!));
    expect(Math.abs(Number(q.get('timestamp')) - nowSeconds())).toBeLessThan(30);
    expect(q.get('openid')).toBe(openid);
  }

  it('defaults to safe mode when an EncodingAESKey is configured', async () => {
    expect(cfg.wechat.encodingAesKey).toHaveLength(43);
    expect((await getJson(sb('/faults'))).body.push_mode).toBe('safe');
  });

  it('plain mode: a first scan is subscribe + qrscene_<scene>, a second SCAN + <scene>; the app reply is returned', async () => {
    await postJson(sb('/faults'), { push_mode: 'plain' });
    const ticket = await qr('bind_plain');
    receiver.handler = (r) => {
      if (r.path !== VERIFY_PATH) return Receiver.defaultHandler(r);
      return {
        status: 200,
        headers: { 'Content-Type': 'application/xml' },
        body: buildXml({ ToUserName: 'x', FromUserName: 'gh', CreateTime: 1, MsgType: 'text', Content: '已绑定电脑端' }),
      };
    };
    const openid = 'oSBXscanner00000000000000001';
    const first = await postJson(sb('/actions/scan'), { ticket, openid });
    expect(first.body).toMatchObject({ ok: true, event: 'subscribe', event_key: 'qrscene_bind_plain' });
    expect(first.body.push).toMatchObject({
      delivered: true,
      status: 200,
      mode: 'plain',
      reply: { encrypted: false, fields: { Content: '已绑定电脑端' } },
    });
    const [push] = receiver.on(VERIFY_PATH);
    expectSigned(push, openid);
    expect(push.query.get('encrypt_type')).toBeNull();
    expect(push.headers['content-type']).toMatch(/xml/);
    const fields = await parseWechatXml(push.body);
    expect(fields).toMatchObject({
      FromUserName: openid,
      MsgType: 'event',
      Event: 'subscribe',
      EventKey: 'qrscene_bind_plain',
      Ticket: ticket,
    });
    expect(fields.ToUserName).toMatch(/^gh_/);

    const second = await postJson(sb('/actions/scan'), { ticket, openid });
    expect(second.body).toMatchObject({ event: 'SCAN', event_key: 'bind_plain' });
    const scan = await parseWechatXml((await receiver.waitFor(VERIFY_PATH, 2))[1].body);
    expect(scan).toMatchObject({ Event: 'SCAN', EventKey: 'bind_plain', Ticket: ticket });

    const users = (await getJson(sb('/users'))).body.users;
    expect(users).toEqual([expect.objectContaining({ openid, subscribed: true })]);
    const token = await accessToken();
    expect((await getJson(sb(`/api/cgi-bin/user/info?access_token=${token}&openid=${openid}`))).body).toMatchObject({
      subscribe: 1,
      openid,
    });
  });

  it('subscribed:true makes a first scan a SCAN; a bare scene (legacy permanent code) works without a ticket', async () => {
    await postJson(sb('/faults'), { push_mode: 'plain' });
    const r = await postJson(sb('/actions/scan'), { scene: '123', openid: OPENID, subscribed: true });
    expect(r.body).toMatchObject({ event: 'SCAN', event_key: '123' });
    const fields = await parseWechatXml(receiver.on(VERIFY_PATH)[0].body);
    expect(fields).toMatchObject({ Event: 'SCAN', EventKey: '123' });
    expect(fields.Ticket).toBeUndefined();
  });

  it('safe mode: only ToUserName + Encrypt, msg_signature verifies, and the encrypted reply is decrypted', async () => {
    const c = crypto();
    const ticket = await qr('bind_safe');
    receiver.handler = (r) => {
      if (r.path !== VERIFY_PATH) return Receiver.defaultHandler(r);
      const reply = buildXml({ ToUserName: 'o', FromUserName: 'gh', CreateTime: 1, MsgType: 'text', Content: '欢迎关注' });
      return {
        status: 200,
        headers: { 'Content-Type': 'application/xml' },
        body: c.buildEncryptedReply(reply, String(nowSeconds()), 'replynonce'),
      };
    };
    const res = await postJson(sb('/actions/scan'), { ticket, openid: OPENID });
    expect(res.body.push).toMatchObject({
      mode: 'safe',
      delivered: true,
      reply: { encrypted: true, signature_ok: true, fields: { Content: '欢迎关注' } },
    });
    const [push] = receiver.on(VERIFY_PATH);
    expectSigned(push, OPENID);
    expect(push.query.get('encrypt_type')).toBe('aes');
    const envelope = await parseWechatXml(push.body);
    expect(Object.keys(envelope).sort()).toEqual(['Encrypt', 'ToUserName']);
    const q = push.query;
    expect(c.verifyMsgSignature(q.get('msg_signature')!, q.get('timestamp')!, q.get('nonce')!, envelope.Encrypt)).toBe(true);
    const inner = await parseWechatXml(c.decrypt(envelope.Encrypt));
    expect(inner).toMatchObject({ FromUserName: OPENID, Event: 'subscribe', EventKey: 'qrscene_bind_safe', Ticket: ticket });
  });

  it('compatible mode carries the plaintext fields and Encrypt side by side', async () => {
    await postJson(sb('/faults'), { push_mode: 'compatible' });
    await postJson(sb('/actions/subscribe'), { openid: OPENID });
    const [push] = receiver.on(VERIFY_PATH);
    const fields = await parseWechatXml(push.body);
    expect(fields).toMatchObject({ Event: 'subscribe', EventKey: '', FromUserName: OPENID });
    expect(push.query.get('encrypt_type')).toBe('aes');
    const inner = await parseWechatXml(crypto().decrypt(fields.Encrypt));
    expect(inner).toMatchObject({ Event: 'subscribe', FromUserName: OPENID });
  });

  it('unsubscribe pushes the event and forgets the follow', async () => {
    await postJson(sb('/faults'), { push_mode: 'plain' });
    await postJson(sb('/actions/subscribe'), { openid: OPENID });
    const r = await postJson(sb('/actions/unsubscribe'), { openid: OPENID });
    expect(r.body).toMatchObject({ ok: true, event: 'unsubscribe' });
    const pushes = receiver.on(VERIFY_PATH);
    expect(await parseWechatXml(pushes[1].body)).toMatchObject({ Event: 'unsubscribe', FromUserName: OPENID });
    const users = (await getJson(sb('/users'))).body.users;
    expect(users[0]).toMatchObject({ openid: OPENID, subscribed: false });
    // A scan now is a subscribe again.
    expect((await postJson(sb('/actions/scan'), { scene: 'bind_x', openid: OPENID })).body.event).toBe('subscribe');
  });

  it('retries an unanswered (5xx) push with the identical request, as WeChat does', async () => {
    await postJson(sb('/faults'), { push_mode: 'plain' });
    let calls = 0;
    receiver.handler = (r) => (r.path === VERIFY_PATH && ++calls === 1 ? { status: 503 } : Receiver.defaultHandler(r));
    const r = await postJson(sb('/actions/subscribe'), { openid: OPENID });
    expect(r.body.push).toMatchObject({ delivered: false, status: 503, retrying: true });
    const pushes = await receiver.waitFor(VERIFY_PATH, 2);
    expect(pushes[1].url).toBe(pushes[0].url);
    expect(pushes[1].body.equals(pushes[0].body)).toBe(true);
    await eventually(async () => (await getJson(sb('/deliveries'))).body.deliveries[0].state === 'delivered');
  });

  it('rejects invalid action bodies with 400', async () => {
    expect((await postJson(sb('/actions/scan'), { openid: 'bad id!', scene: 'x' })).status).toBe(400);
    expect((await postJson(sb('/actions/scan'), { openid: OPENID })).status).toBe(400);
    expect((await postJson(sb('/actions/scan'), { openid: OPENID, ticket: 'unknown' })).status).toBe(404);
  });

  it('server URL verification: the app must echo echostr (plain and safe)', async () => {
    receiver.handler = (r) => ({ status: 200, body: r.query.get('echostr') ?? '' });
    await postJson(sb('/faults'), { push_mode: 'plain' });
    expect((await postJson(sb('/actions/verify-server'), {})).body).toMatchObject({ ok: true, status: 200 });
    const [get] = receiver.on(VERIFY_PATH);
    expect(get.method).toBe('GET');
    expect(get.query.get('signature')).toBe(sha1Signature(cfg.wechat.token, get.query.get('timestamp')!, get.query.get('nonce')!));
    // Safe mode: the echostr is encrypted; echoing it back unchanged is wrong.
    await postJson(sb('/faults'), { push_mode: 'safe' });
    expect((await postJson(sb('/actions/verify-server'), {})).body.ok).toBe(false);
    receiver.handler = (r) => ({ status: 200, body: crypto().decrypt(r.query.get('echostr')!) });
    expect((await postJson(sb('/actions/verify-server'), {})).body.ok).toBe(true);
  });
});
