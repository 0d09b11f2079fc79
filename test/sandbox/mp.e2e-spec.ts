import vm from 'node:vm';
import { accessToken, cfg, createQr, getJson, inlineScripts, OPENID, postJson, receiver, sb, VERIFY_PATH, useSandboxApp } from './harness';

/** The official-account side of WeChat (docs/sandbox.md "What it emulates"): access tokens and fault knobs, OAuth, QR codes, menu. */
useSandboxApp();

describe('access token', () => {
  it('issues a token for the right credentials and counts fetches; wrong ones get WeChat errcodes', async () => {
    const q = (o: Record<string, string>) => sb(`/api/cgi-bin/token?${new URLSearchParams(o).toString()}`);
    const ok = await getJson(q({ grant_type: 'client_credential', appid: cfg.wechat.appId, secret: cfg.wechat.secret }));
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ access_token: expect.stringMatching(/^[A-Za-z0-9_-]{100,}$/), expires_in: 7200 });
    expect((await getJson(q({ grant_type: 'client_credential', appid: 'wxwrong', secret: cfg.wechat.secret }))).body.errcode).toBe(40013);
    expect((await getJson(q({ grant_type: 'client_credential', appid: cfg.wechat.appId, secret: 'wrong' }))).body.errcode).toBe(40125);
    expect((await getJson(q({ grant_type: 'password', appid: cfg.wechat.appId, secret: cfg.wechat.secret }))).body.errcode).toBe(40002);
    expect((await getJson(q({ grant_type: 'client_credential', secret: cfg.wechat.secret }))).body.errcode).toBe(41002);
    const wrong = (await getJson(q({ grant_type: 'client_credential', appid: 'wxwrong', secret: cfg.wechat.secret }))).body;
    expect(wrong.errmsg).toMatch(/^invalid appid rid: /);
    await accessToken();
    const stats = (await getJson(sb('/stats'))).body;
    expect(stats.token_fetches).toBe(2);
    expect(stats.token_errors).toBe(5);
  });

  it('every API call checks access_token: missing 41001, unknown 40001, expired 42001', async () => {
    expect((await getJson(sb('/api/cgi-bin/menu/get'))).body.errcode).toBe(41001);
    expect((await getJson(sb('/api/cgi-bin/menu/get?access_token=nonsense'))).body.errcode).toBe(40001);
    const token = await accessToken();
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${token}`))).body.errcode).toBe(46003); // valid: no menu yet
    await postJson(sb('/clock'), { advance_seconds: 7201 });
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${token}`))).body.errcode).toBe(42001);
    const stats = (await getJson(sb('/stats'))).body;
    expect(stats.api_calls).toBe(4);
    expect(stats.api_errors).toBe(3);
  });

  it('a new token leaves the previous one valid for 5 minutes only', async () => {
    const first = await accessToken();
    const second = await accessToken();
    expect(second).not.toBe(first);
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${first}`))).body.errcode).toBe(46003);
    await postJson(sb('/clock'), { advance_seconds: 301 });
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${first}`))).body.errcode).toBe(40001);
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${second}`))).body.errcode).toBe(46003);
  });

  it('stable_token returns the same token until force_refresh, which kills the old one at once', async () => {
    const body = { grant_type: 'client_credential', appid: cfg.wechat.appId, secret: cfg.wechat.secret };
    const a = (await postJson(sb('/api/cgi-bin/stable_token'), body)).body;
    const b = (await postJson(sb('/api/cgi-bin/stable_token'), body)).body;
    expect(a.expires_in).toBe(7200);
    expect(b.access_token).toBe(a.access_token);
    const c = (await postJson(sb('/api/cgi-bin/stable_token'), { ...body, force_refresh: true })).body;
    expect(c.access_token).not.toBe(a.access_token);
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${a.access_token}`))).body.errcode).toBe(40001);
    expect((await postJson(sb('/api/cgi-bin/stable_token'), { ...body, secret: 'nope' })).body.errcode).toBe(40125);
    expect((await getJson(sb('/stats'))).body).toMatchObject({ token_fetches: 3, stable_token_fetches: 3 });
  });

  it('fault 40001-once answers 40001 to the next call with a valid token and kills that token', async () => {
    const token = await accessToken();
    await postJson(sb('/faults'), { token: '40001-once' });
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${token}`))).body.errcode).toBe(40001);
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${token}`))).body.errcode).toBe(40001);
    expect((await getJson(sb('/faults'))).body.token).toBeNull();
    const fresh = await accessToken();
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${fresh}`))).body.errcode).toBe(46003);
  });

  it('fault token=down drops the connection like an unreachable host', async () => {
    await postJson(sb('/faults'), { token: 'down' });
    await expect(
      fetch(sb(`/api/cgi-bin/token?grant_type=client_credential&appid=${cfg.wechat.appId}&secret=${cfg.wechat.secret}`)),
    ).rejects.toThrow();
    await postJson(sb('/faults'), { token: null });
    await accessToken();
  });

  it('rejects unknown fault values', async () => {
    expect((await postJson(sb('/faults'), { pay: 'exploded' })).status).toBe(400);
    expect((await postJson(sb('/faults'), { nonsense: 1 })).status).toBe(400);
  });
});

describe('OAuth', () => {
  const authorize = (params: Record<string, string>) =>
    sb(
      `/open/connect/oauth2/authorize?${new URLSearchParams({
        appid: cfg.wechat.appId,
        redirect_uri: `${cfg.http.publicBaseUrl}/wechat/member.html`,
        response_type: 'code',
        scope: 'snsapi_base',
        state: 'member',
        ...params,
      }).toString()}`,
    );
  const exchange = (code: string, secret = cfg.wechat.secret) =>
    getJson(
      sb(
        `/api/sns/oauth2/access_token?${new URLSearchParams({ appid: cfg.wechat.appId, secret, code, grant_type: 'authorization_code' }).toString()}`,
      ),
    );

  async function login(openid: string): Promise<URL> {
    const res = await fetch(authorize({ sandbox_openid: openid }), { redirect: 'manual' });
    expect(res.status).toBe(302);
    return new URL(res.headers.get('location')!);
  }

  it('renders a "Log in as…" page with the known users, escaping what it echoes', async () => {
    await login('oSBXknownuser0000000000000001');
    const res = await fetch(authorize({ state: '"><script>alert(1)</script>' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const page = await res.text();
    expect(page).toContain('Log in as');
    expect(page).toContain('oSBXknownuser0000000000000001');
    expect(page).toContain('name="sandbox_openid"');
    expect(page).not.toContain('<script>alert(1)</script>');
    expect(page).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('redirects with code and state; the code is single-use (40163) and expires after 5 minutes (40029)', async () => {
    const target = await login(OPENID);
    expect(`${target.origin}${target.pathname}`).toBe(`${cfg.http.publicBaseUrl}/wechat/member.html`);
    expect(target.searchParams.get('state')).toBe('member');
    const code = target.searchParams.get('code')!;
    const first = await exchange(code);
    expect(first.body).toEqual({
      access_token: expect.any(String),
      expires_in: 7200,
      refresh_token: expect.any(String),
      openid: OPENID,
      scope: 'snsapi_base',
    });
    expect((await exchange(code)).body.errcode).toBe(40163);
    expect((await exchange('not-a-code')).body.errcode).toBe(40029);
    const other = (await login(OPENID)).searchParams.get('code')!;
    expect((await exchange(other, 'wrong-secret')).body.errcode).toBe(40125);
    await postJson(sb('/clock'), { advance_seconds: 301 });
    expect((await exchange(other)).body.errcode).toBe(40029);
  });

  it('refuses a wrong appid, redirect_uri or scope with an error page', async () => {
    expect((await fetch(authorize({ appid: 'wxother' }))).status).toBe(400);
    expect((await fetch(authorize({ redirect_uri: 'javascript:alert(1)' }))).status).toBe(400);
    expect((await fetch(authorize({ scope: 'snsapi_everything' }))).status).toBe(400);
    expect((await fetch(authorize({ sandbox_openid: 'bad openid!' }), { redirect: 'manual' })).status).toBe(400);
  });
});

describe('QR codes', () => {
  it('creates the four kinds with WeChat validation, and shows a ticket only when URL-encoded', async () => {
    const token = await accessToken();
    const str = await createQr(token, {
      expire_seconds: 1800,
      action_name: 'QR_STR_SCENE',
      action_info: { scene: { scene_str: 'bind_abc' } },
    });
    expect(str).toEqual({
      ticket: expect.any(String),
      expire_seconds: 1800,
      url: expect.stringMatching(/^http:\/\/weixin\.qq\.com\/q\/\w+$/),
    });
    expect(str.ticket).toMatch(/[+/=]/); // forces clients to URL-encode it
    expect(await createQr(token, { action_name: 'QR_SCENE', action_info: { scene: { scene_id: 123 } } })).toMatchObject({
      expire_seconds: 60,
    });
    const limit = await createQr(token, { action_name: 'QR_LIMIT_SCENE', action_info: { scene: { scene_id: 100000 } } });
    expect(limit.expire_seconds).toBeUndefined();
    expect(await createQr(token, { action_name: 'QR_LIMIT_STR_SCENE', action_info: { scene: { scene_str: 'x' } } })).toHaveProperty(
      'ticket',
    );

    expect((await createQr(token, { action_name: 'QR_FOO', action_info: { scene: { scene_str: 'x' } } })).errcode).toBe(40052);
    expect((await createQr(token, { action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'x'.repeat(65) } } })).errcode).toBe(
      40053,
    );
    expect(
      (await createQr(token, { expire_seconds: 59, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'x' } } })).errcode,
    ).toBe(40053);
    expect(
      (await createQr(token, { expire_seconds: 2592001, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'x' } } })).errcode,
    ).toBe(40053);
    expect((await createQr(token, { action_name: 'QR_LIMIT_SCENE', action_info: { scene: { scene_id: 100001 } } })).errcode).toBe(40053);
    expect((await createQr(token, { action_name: 'QR_STR_SCENE' })).errcode).toBe(40053);
    expect((await createQr('bad-token', { action_name: 'QR_SCENE', action_info: { scene: { scene_id: 1 } } })).errcode).toBe(40001);
    expect((await getJson(sb('/stats'))).body.qrcodes_created).toBe(4);

    const page = await fetch(`${cfg.wechat.mpBase}/cgi-bin/showqrcode?ticket=${encodeURIComponent(str.ticket)}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('bind_abc');
    expect(html).toContain('sandbox-scan-form');
    expect(inlineScripts(html)).toHaveLength(1);
    for (const script of inlineScripts(html)) expect(() => new vm.Script(script)).not.toThrow();
    expect((await fetch(`${cfg.wechat.mpBase}/cgi-bin/showqrcode?ticket=${str.ticket}`)).status).toBe(404);
  });

  it('an expired ticket is no longer shown, and scanning it pushes nothing unless forced', async () => {
    const token = await accessToken();
    const qr = await createQr(token, {
      expire_seconds: 60,
      action_name: 'QR_STR_SCENE',
      action_info: { scene: { scene_str: 'bind_old' } },
    });
    await postJson(sb('/clock'), { advance_seconds: 61 });
    expect((await fetch(`${cfg.wechat.mpBase}/cgi-bin/showqrcode?ticket=${encodeURIComponent(qr.ticket)}`)).status).toBe(404);
    expect((await postJson(sb('/actions/scan'), { ticket: qr.ticket, openid: OPENID })).status).toBe(410);
    expect(receiver.on(VERIFY_PATH)).toHaveLength(0);
    await postJson(sb('/faults'), { push_mode: 'plain' });
    const forced = await postJson(sb('/actions/scan'), { ticket: qr.ticket, openid: OPENID, force: true });
    expect(forced.body).toMatchObject({ ok: true, event: 'subscribe', event_key: 'qrscene_bind_old' });
    expect(receiver.on(VERIFY_PATH)).toHaveLength(1);
  });
});

describe('menu', () => {
  const menu = {
    button: [
      { type: 'view', name: '芯图相册', url: 'http://127.0.0.1/home' },
      {
        name: '会员服务',
        sub_button: [
          { type: 'view', name: '开通会员', url: 'https://open.weixin.qq.com/connect/oauth2/authorize?appid=x#wechat_redirect' },
          { type: 'click', name: '联系客服', key: 'CONTACT' },
        ],
      },
    ],
  };

  it('creates, gets and deletes a menu, validating the structure like WeChat', async () => {
    const token = await accessToken();
    const create = (body: unknown) => postJson(sb(`/api/cgi-bin/menu/create?access_token=${token}`), body).then((r) => r.body);
    expect(await create(menu)).toEqual({ errcode: 0, errmsg: 'ok' });
    const got = (await getJson(sb(`/api/cgi-bin/menu/get?access_token=${token}`))).body;
    expect(got.menu.button[0]).toEqual({ ...menu.button[0], sub_button: [] });
    expect(got.menu.button[1].sub_button[1]).toEqual({ type: 'click', name: '联系客服', key: 'CONTACT', sub_button: [] });
    expect(typeof got.menu.menuid).toBe('number');

    const view = { type: 'view', name: 'a', url: 'http://x/' };
    expect((await create({ button: [view, view, view, view] })).errcode).toBe(40016);
    expect((await create({ button: [] })).errcode).toBe(40016);
    expect((await create({ button: [{ name: 'm', sub_button: [view, view, view, view, view, view] }] })).errcode).toBe(40023);
    expect((await create({ button: [{ type: 'view', name: 'a' }] })).errcode).toBe(40020);
    expect((await create({ button: [{ name: 'm', sub_button: [{ type: 'view', name: 'a' }] }] })).errcode).toBe(40027);
    expect((await create({ button: [{ type: 'click', name: 'a' }] })).errcode).toBe(40019);
    expect((await create({ button: [{ type: 'teleport', name: 'a' }] })).errcode).toBe(40017);
    expect((await create({ button: [{ ...view, name: '一二三四五六' }] })).errcode).toBe(40018);
    const garbage = await fetch(sb(`/api/cgi-bin/menu/create?access_token=${token}`), { method: 'POST', body: '{not json' });
    expect(((await garbage.json()) as { errcode: number }).errcode).toBe(47001);
    // A failed create leaves the previous menu in place.
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${token}`))).body.menu.button).toHaveLength(2);

    expect((await getJson(sb(`/api/cgi-bin/menu/delete?access_token=${token}`))).body).toEqual({ errcode: 0, errmsg: 'ok' });
    expect((await getJson(sb(`/api/cgi-bin/menu/get?access_token=${token}`))).body.errcode).toBe(46003);
  });
});
