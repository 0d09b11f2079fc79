import { request } from 'node:http';
import { freePort, startApp, startAppOnFreshDb, TestApp } from '../setup/test-app';

/**
 * Serving of public/ (docs/api.md "Static pages"): the pages with no-cache, the operator's
 * MP_verify file at the root, the /wechat/ entry redirect, env.js per mode — and everything that
 * must NOT become a file: traversal, dotfiles, unknown API paths, `/`.
 */

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request whose path goes on the wire exactly as written (fetch would normalise `..`). */
function raw(base: string, path: string, method = 'GET'): Promise<Raw> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const NOT_FOUND = JSON.stringify({ detail: 'Not Found' });

describe('static pages [sqlite]', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startAppOnFreshDb('sqlite', { WECHAT_SANDBOX: 'true' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each(['/wechat/', '/wechat'])('%s redirects (302) to member.html', async (path) => {
    const res = await raw(t.url, path);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/wechat/member.html');
  });

  it('the redirect keeps the query, so an OAuth code arriving at /wechat/ still logs in', async () => {
    const res = await raw(t.url, '/wechat/?code=abc&state=member');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/wechat/member.html?code=abc&state=member');
  });

  it.each(['member.html', 'credits.html', 'credits_info.html'])(
    '%s: HTML, Cache-Control no-cache, env.js before the shared versioned script',
    async (page) => {
      const res = await fetch(`${t.url}/wechat/${page}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const html = await res.text();
      const env = html.indexOf('<script src="/wechat/env.js"></script>');
      const app = html.indexOf('<script src="app.js?v=');
      expect(env).toBeGreaterThan(0);
      expect(app).toBeGreaterThan(env);
      expect(html).toMatch(/<link rel="stylesheet" href="app\.css\?v=\d+">/);
      // No third-party origin anywhere: no CDN, no framework download.
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
      // Nothing of the sandbox in the page itself: only env.js decides.
      expect(html).not.toContain('sandbox');
    },
  );

  it('the shared script and stylesheet are served; a versioned URL may be cached, an unversioned one revalidates', async () => {
    const js = await fetch(`${t.url}/wechat/app.js?v=2`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const body = await js.text();
    expect(body).not.toMatch(/\.innerHTML\s*=|insertAdjacentHTML|document\.write/);
    const css = await fetch(`${t.url}/wechat/app.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(css.headers.get('cache-control')).toBe('no-cache');
  });

  it("a file at the root of public/ (WeChat's MP_verify_*.txt) is served at /", async () => {
    const res = await fetch(`${t.url}/MP_verify_sandboxexample.txt`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('sandboxexample');
  });

  it.each([
    '/wechat/../package.json',
    '/wechat/..%2f..%2fpackage.json',
    '/wechat/%2e%2e/%2e%2e/package.json',
    '/..%2fpackage.json',
    '/%2e%2e/src/main.ts',
    '/wechat/..%5c..%5cpackage.json',
    '/wechat/member.html%00.txt',
    '/package.json',
    '/src/main.ts',
    '/.env',
    '/public/wechat/member.html',
  ])('nothing outside public/ is served: %s → JSON 404', async (path) => {
    const res = await raw(t.url, path);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toBe(NOT_FOUND);
  });

  it.each(['/api/typo', '/api/v1/nope', '/api/v1/user/credits/extra', '/wechat/nope.html', '/wechat/sub/'])(
    'an unknown path is the JSON 404, never a page: %s',
    async (path) => {
      const res = await raw(t.url, path);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toBe(NOT_FOUND);
    },
  );

  it('GET / stays the service JSON (serve-static takes no index)', async () => {
    const res = await fetch(`${t.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ docs: '/docs', health: '/api/v1/health' });
  });

  it('env.js in sandbox mode loads the simulated bridge, uncached', async () => {
    const res = await fetch(`${t.url}/wechat/env.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/javascript/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(await res.text()).toContain("'/sandbox/jsbridge.js'");
    expect((await fetch(`${t.url}/sandbox/jsbridge.js`)).status).toBe(200);
  });
});

describe('static pages without the sandbox [sqlite]', () => {
  it('env.js is an empty script and nothing of the sandbox is reachable', async () => {
    const t = await startAppOnFreshDb('sqlite', { WECHAT_SANDBOX: 'false' });
    try {
      const res = await fetch(`${t.url}/wechat/env.js`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/javascript/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toBe('');
      expect((await fetch(`${t.url}/sandbox/jsbridge.js`)).status).toBe(404);
      expect((await fetch(`${t.url}/wechat/member.html`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('static pages in role web', () => {
  it('serves none of public/: the pages live on the data roles', async () => {
    const web = await startApp({
      APP_ROLE: 'web',
      DB_TYPE: 'mysql',
      MYSQL_PORT: '1',
      INTERNAL_API_SECRET: 'internal-secret-0123456789abcdef',
      INTERNAL_API_BASE_URL: `http://127.0.0.1:${await freePort()}`,
    });
    try {
      for (const path of ['/wechat/member.html', '/wechat/env.js', '/wechat/', '/MP_verify_sandboxexample.txt']) {
        const res = await raw(web.url, path);
        expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 404, body: NOT_FOUND });
      }
    } finally {
      await web.close();
    }
  });
});
