import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { track } from './proxy-harness';

/**
 * The project's own test hosts for the split plan (docs/deploy.md "Hosts and processes"): two
 * network namespaces, a "web host" and an "app host", joined by veth pairs. Every address lives
 * in one random 10.x.y.z/28 cut into three /30 links that lead only into these namespaces:
 *
 *   root ns (the test: WeChat, browsers; MariaDB's host)
 *     ├─ public link  .1 ───── .2  web host  (lighttpd, role web on its own 127.0.0.1)
 *     │                              └─ private link .5 ── .6  app host (role app)
 *     └─ db link      .9 ─────────────────────────────── .10 app host
 *
 * No namespace has a default route and IP forwarding is not turned on, so the web host can reach
 * the app host (private link) and the test (public link), and nothing else: in particular not the
 * db link, where the MySQL forwarder listens. Names carry a random id; `destroy()` removes
 * everything (run it in afterAll; a process exit runs it too).
 */

const ip = (args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

const live = new Set<TestHosts>();
process.once('exit', () => {
  for (const h of live) h.destroy();
});

export class TestHosts {
  readonly web: string;
  readonly app: string;
  readonly addr: { rootPublic: string; webPublic: string; webPrivate: string; appPrivate: string; dbGateway: string; appDb: string };
  private readonly rootLinks: string[];
  private destroyed = false;

  private constructor() {
    const id = randomBytes(3).toString('hex');
    this.web = `wxns${id}-web`;
    this.app = `wxns${id}-app`;
    this.rootLinks = [`wx${id}p`, `wx${id}d`];
    const base = `10.${randomInt(200, 250)}.${randomInt(0, 256)}`;
    const o = randomInt(0, 16) * 16;
    const a = (n: number) => `${base}.${o + n}`;
    this.addr = { rootPublic: a(1), webPublic: a(2), webPrivate: a(5), appPrivate: a(6), dbGateway: a(9), appDb: a(10) };
  }

  /** Whether this machine lets the test create namespaces (root, iproute2), and why not. */
  static unavailableReason(): string | null {
    if (process.platform !== 'linux') return 'not Linux';
    if (process.getuid?.() !== 0) return 'not root (ip netns needs CAP_SYS_ADMIN)';
    const probe = `wxnsprobe${randomBytes(3).toString('hex')}`;
    try {
      ip(['netns', 'add', probe]);
      ip(['netns', 'del', probe]);
      return null;
    } catch (err) {
      return `ip netns add failed: ${String((err as { stderr?: string }).stderr ?? err).trim()}`;
    }
  }

  static create(): TestHosts {
    const h = new TestHosts();
    live.add(h);
    try {
      h.build();
    } catch (err) {
      h.destroy();
      throw err;
    }
    return h;
  }

  private build(): void {
    const { addr } = this;
    for (const ns of [this.web, this.app]) {
      ip(['netns', 'add', ns]);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    const [pub, db] = this.rootLinks;
    const priv = `${pub}x`;
    // public link: root ↔ web
    ip(['link', 'add', pub, 'type', 'veth', 'peer', 'name', `${pub}w`]);
    ip(['link', 'set', `${pub}w`, 'netns', this.web]);
    ip(['addr', 'add', `${addr.rootPublic}/30`, 'dev', pub]);
    ip(['link', 'set', pub, 'up']);
    ip(['-n', this.web, 'addr', 'add', `${addr.webPublic}/30`, 'dev', `${pub}w`]);
    ip(['-n', this.web, 'link', 'set', `${pub}w`, 'up']);
    // private link: web ↔ app (created inside the web namespace, one end moved)
    ip(['-n', this.web, 'link', 'add', priv, 'type', 'veth', 'peer', 'name', `${priv}a`]);
    ip(['-n', this.web, 'link', 'set', `${priv}a`, 'netns', this.app]);
    ip(['-n', this.web, 'addr', 'add', `${addr.webPrivate}/30`, 'dev', priv]);
    ip(['-n', this.web, 'link', 'set', priv, 'up']);
    ip(['-n', this.app, 'addr', 'add', `${addr.appPrivate}/30`, 'dev', `${priv}a`]);
    ip(['-n', this.app, 'link', 'set', `${priv}a`, 'up']);
    // db link: root ↔ app
    ip(['link', 'add', db, 'type', 'veth', 'peer', 'name', `${db}a`]);
    ip(['link', 'set', `${db}a`, 'netns', this.app]);
    ip(['addr', 'add', `${addr.dbGateway}/30`, 'dev', db]);
    ip(['link', 'set', db, 'up']);
    ip(['-n', this.app, 'addr', 'add', `${addr.appDb}/30`, 'dev', `${db}a`]);
    ip(['-n', this.app, 'link', 'set', `${db}a`, 'up']);
  }

  /** The command prefix that runs a program on `host`. */
  wrap(host: 'web' | 'app'): string[] {
    return ['ip', 'netns', 'exec', host === 'web' ? this.web : this.app];
  }

  /** Spawns `command` on `host` (registered with the deploy harness so a failing test cannot leak it). */
  spawn(host: 'web' | 'app', command: string[], env: Record<string, string>, cwd?: string): ChildProcess {
    const full = [...this.wrap(host), ...command];
    return track(
      spawn(full[0], full.slice(1), {
        cwd,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
  }

  /** Runs `node -e script` on `host` and returns its stdout. */
  node(host: 'web' | 'app', script: string): string {
    return execFileSync(this.wrap(host)[0], [...this.wrap(host).slice(1), process.execPath, '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
  }

  /** Kills what still runs inside the namespaces (only processes this test started there), removes them and the root-side links. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const ns of [this.web, this.app]) {
      try {
        for (const pid of ip(['netns', 'pids', ns]).split(/\s+/).filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* no such namespace */
      }
      try {
        ip(['netns', 'del', ns]);
      } catch {
        /* not created */
      }
    }
    for (const link of this.rootLinks) {
      try {
        ip(['link', 'del', link]); // normally gone with its peer's namespace
      } catch {
        /* gone */
      }
    }
  }
}
