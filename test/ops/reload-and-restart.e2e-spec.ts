import { ChildProcess, spawn } from 'node:child_process';
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { expectInvariants } from '../setup/invariants';
import { mysqlAdmin, mysqlEnabled } from '../setup/mysql';
import { baseEnv, eventually, freePort, ROOT, spawnApp, tempDir, TestDatabase } from '../setup/test-app';
import { loadConfig } from '../../src/config/load-config';
import { v2Notification } from '../support/pay-notifications';
import {
  accepted,
  APPLIED_ONCE,
  isRunning,
  paymentState,
  queryOf,
  SeededOrder,
  seedOrder,
  Service,
  sql,
  uid,
} from '../resilience/resilience-support';
import { childPids, mixedRequest, oneShot, steadyTraffic, summary, TrafficSubject } from './traffic';

/**
 * docs/deploy.md "Restart and reload", under load on loopback (bounded: a few seconds of 4-6
 * concurrent clients). The service runs from a copy of the build in a temp dir (NODE_PATH finds
 * node_modules), so a test can put a "new build" — or a broken one — on disk without touching the
 * dist/ other suites run.
 *
 * - SIGHUP to a cluster primary (WORKERS=2) replaces every worker with the build now on disk while
 *   pushes, notifications and credits reads keep coming: 0 failed requests.
 * - A notification storm across a reload is acknowledged every time and credited exactly once.
 * - A broken build: the reload is refused in one line, the old workers keep serving, 0 failed.
 * - A restart with the listening socket held by a parent (deploy/systemd/image-classifier.socket;
 *   test/ops/socket-holder.pl plays systemd): the requests made while no process runs wait in the
 *   kernel's queue and are served by the next process: 0 failed.
 */

const CONCURRENCY = 4;

/** A copy of dist/ that the test may rebuild: `version` is the health endpoint's, `break()` a bad build. */
function buildCopy(): { main: string; env: Record<string, string>; setVersion(v: string): void; breakBuild(): void; repair(): void } {
  const dir = tempDir('wx-build-');
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  symlinkSync(join(ROOT, 'public'), join(dir, 'public')); // the member pages, found above dist/
  const pkg = join(dir, 'dist/package.json');
  const appModule = join(dir, 'dist/src/app.module.js');
  const good = readFileSync(appModule, 'utf8');
  return {
    main: join(dir, 'dist/src/main.js'),
    env: { NODE_PATH: join(ROOT, 'node_modules') },
    setVersion: (v) => writeFileSync(pkg, JSON.stringify({ ...JSON.parse(readFileSync(pkg, 'utf8')), version: v })),
    breakBuild: () => writeFileSync(appModule, `throw new Error('a broken build');\n${good}`),
    repair: () => writeFileSync(appModule, good),
  };
}

async function versionOf(url: string): Promise<string> {
  return JSON.parse((await oneShot(url, '/api/v1/health')).text).version;
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** SIGHUP, then wait for the primary's "reload done" / "reload refused" line. */
async function reload(svc: Service, expect: 'done' | 'refused'): Promise<void> {
  const line = `reload ${expect}`;
  const before = count(svc.app.output(), line);
  svc.app.proc.kill('SIGHUP');
  await eventually(() => count(svc.app.output(), line) > before, 90_000, 100);
}

(mysqlEnabled() ? describe : describe.skip)('reload and restart under load [mysql]', () => {
  let db: TestDatabase;
  let conn: Connection;

  beforeAll(async () => {
    db = await TestDatabase.create('mysql');
    conn = await mysqlAdmin(db.mysqlName);
  });

  afterAll(async () => {
    await conn?.end();
    await db?.drop();
  });

  afterEach(async () => {
    await expectInvariants(queryOf(conn));
  });

  async function subject(url: string, config: Service['config'], orders: number): Promise<TrafficSubject> {
    const seeded: SeededOrder[] = [];
    for (let i = 0; i < orders; i++) seeded.push(await seedOrder(conn));
    return { url, config, orders: seeded, openid: seeded[0].openid, tag: uid('oSub') };
  }

  /** Every seeded order paid once, however many times WeChat notified it. */
  async function expectCreditedOnce(orders: SeededOrder[], notified: number): Promise<void> {
    const states = await Promise.all(orders.slice(0, notified).map((o) => paymentState(conn, o)));
    expect(states).toEqual(states.map(() => APPLIED_ONCE));
  }

  describe('WORKERS=2, SIGHUP to the primary', () => {
    let svc: Service;
    let build: ReturnType<typeof buildCopy>;

    beforeAll(async () => {
      build = buildCopy();
      const env = { ...db.env, ...build.env, WORKERS: '2', WECHAT_SANDBOX: 'true', LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '1000000' };
      const p = await freePort();
      const dataDir = tempDir('wx-reload-');
      const app = await spawnApp(
        { ...env, APP_PORT: String(p), DATA_DIR: dataDir },
        { waitHealthy: true, timeoutMs: 90_000, main: build.main },
      );
      await eventually(() => childPids(app.proc.pid!).length === 2, 60_000);
      svc = {
        app,
        config: loadConfig(baseEnv(p, { ...env, APP_PORT: String(p), DATA_DIR: dataDir }), { cwd: dataDir }),
        env,
        url: app.url,
      };
    }, 120_000);

    afterAll(async () => {
      if (svc && isRunning(svc.app)) expect(await svc.app.stop('SIGTERM')).toBe(0);
    });

    it('a new build on disk, reloaded in the middle of pushes, notifications and credits reads: 0 failed, every worker replaced, the new version served', async () => {
      const s = await subject(svc.url, svc.config, 60);
      const before = childPids(svc.app.proc.pid!);
      expect(await versionOf(svc.url)).toBe('1.0.0');
      let reloaded!: Promise<void>;
      const started = Date.now();
      const outcomes = await steadyTraffic(
        (i) => mixedRequest(s, i),
        CONCURRENCY,
        (async () => {
          await new Promise((r) => setTimeout(r, 1500));
          build.setVersion('1.0.1-reloaded');
          reloaded = reload(svc, 'done');
          await reloaded;
          await new Promise((r) => setTimeout(r, 1500));
        })(),
      );
      const r = summary(outcomes);
      const after = childPids(svc.app.proc.pid!);
      console.log(
        `reload under load: ${r.total} requests in ${((Date.now() - started) / 1000).toFixed(1)} s (${JSON.stringify(r.byKind)}), ${r.failed.length} failed, slowest ${r.maxMs} ms; workers ${before.join(',')} → ${after.join(',')}`,
      );
      expect(r.failed).toEqual([]);
      expect(r.total).toBeGreaterThan(12);
      expect(after).toHaveLength(2);
      expect(after.filter((p) => before.includes(p))).toEqual([]);
      expect(await versionOf(svc.url)).toBe('1.0.1-reloaded');
      expect(isRunning(svc.app)).toBe(true); // the primary never exits on SIGHUP
      await expectCreditedOnce(s.orders, Math.min(s.orders.length, Math.ceil(r.byKind.notify ?? 0)));
    }, 180_000);

    it('a notification storm across a reload (10 orders × 5 deliveries, 6 at a time): every delivery acknowledged, each order credited exactly once', async () => {
      const orders: SeededOrder[] = [];
      for (let i = 0; i < 10; i++) orders.push(await seedOrder(conn));
      const deliveries = orders.flatMap((o) => Array.from({ length: 5 }, () => o));
      let next = 0;
      let reloaded: Promise<void> = Promise.resolve();
      const answers: Array<{ status: number; text: string }> = [];
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          while (next < deliveries.length) {
            const i = next++;
            if (i === 10) reloaded = reload(svc, 'done');
            const o = deliveries[i];
            const n = v2Notification(svc.config, {
              orderNo: o.orderNo,
              totalFen: o.totalFen,
              openid: o.openid,
              transactionId: o.transactionId,
            });
            answers.push(
              await oneShot(svc.url, '/api/v1/payment/notify', { method: 'POST', headers: n.headers, body: n.body }).catch((e: Error) => ({
                status: 0,
                text: e.message,
              })),
            );
            // Spread the storm over the reload: the last deliveries go to the new workers.
            if (i >= 10) await new Promise((r) => setTimeout(r, 100));
          }
        }),
      );
      await reloaded;
      expect(answers.filter((a) => !accepted('v2', a))).toEqual([]);
      expect(answers).toHaveLength(50);
      for (const o of orders) expect(await paymentState(conn, o)).toEqual(APPLIED_ONCE);
      const [r] = await sql(
        conn,
        `SELECT COUNT(*) AS n FROM payment_records WHERE order_no IN (${orders.map(() => '?').join(',')})`,
        orders.map((o) => o.orderNo),
      );
      expect(Number(r.n)).toBe(10);
    }, 180_000);

    it('a broken build on disk: the reload is refused in one line, the old workers keep serving, 0 failed', async () => {
      const s = await subject(svc.url, svc.config, 20);
      const before = childPids(svc.app.proc.pid!);
      const version = await versionOf(svc.url);
      build.breakBuild();
      try {
        const outcomes = await steadyTraffic(
          (i) => mixedRequest(s, i),
          CONCURRENCY,
          (async () => {
            await new Promise((r) => setTimeout(r, 500));
            await reload(svc, 'refused');
            await new Promise((r) => setTimeout(r, 1000));
          })(),
        );
        const r = summary(outcomes);
        console.log(`refused reload under load: ${r.total} requests, ${r.failed.length} failed`);
        expect(r.failed).toEqual([]);
      } finally {
        build.repair();
      }
      const refused = svc.app
        .output()
        .split('\n')
        .filter((l) => l.includes('reload refused'));
      expect(refused).toEqual([
        expect.stringMatching(
          /^reload refused: new worker \d+ exited \(1\) before listening; the 2 running workers keep serving the previous code$/,
        ),
      ]);
      expect(childPids(svc.app.proc.pid!)).toEqual(before);
      expect(await versionOf(svc.url)).toBe(version);
      // Repaired, the next reload goes through.
      await reload(svc, 'done');
      expect(childPids(svc.app.proc.pid!).filter((p) => before.includes(p))).toEqual([]);
    }, 180_000);
  });

  describe('restart with the socket held by a parent (systemd socket unit)', () => {
    let holder: ChildProcess;
    let out = '';
    let url = '';

    /** Sends a command to the holder and waits for its answer line. */
    async function command(cmd: 'start' | 'stop'): Promise<string> {
      const answer = cmd === 'start' ? /started (\d+)\n/g : /stopped (\S+)\n/g;
      const seen = [...out.matchAll(answer)].length;
      holder.stdin!.write(`${cmd}\n`);
      let m: RegExpMatchArray[] = [];
      await eventually(() => (m = [...out.matchAll(answer)]).length > seen, 30_000, 20);
      return m[m.length - 1][1];
    }

    beforeAll(async () => {
      const dataDir = tempDir('wx-socket-');
      // APP_PORT is free and never listened on: the socket is the holder's (fd 3).
      const env = baseEnv(await freePort(), {
        ...db.env,
        WECHAT_SANDBOX: 'true',
        LOG_LEVEL: 'warn',
        RATE_LIMIT_PER_MINUTE: '1000000',
        DATA_DIR: dataDir,
      });
      holder = spawn('perl', [join(__dirname, 'socket-holder.pl'), process.execPath, join(ROOT, 'dist/src/main.js')], {
        cwd: dataDir,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      holder.stdout!.on('data', (d) => (out += d));
      holder.stderr!.on('data', (d) => (out += d));
      await eventually(() => /^port \d+$/m.test(out), 10_000, 20);
      url = `http://127.0.0.1:${/^port (\d+)$/m.exec(out)![1]}`;
    });

    afterAll(async () => {
      holder?.stdin!.end();
      await new Promise((r) => (holder.exitCode === null ? holder.once('exit', r) : r(null)));
    });

    it('SIGTERM and a new process while pushes, notifications and credits reads keep coming: 0 failed, no connection refused', async () => {
      // The socket exists before any process: a request now waits for the first start.
      const early = oneShot(url, '/api/v1/health');
      const first = Number(await command('start'));
      expect((await early).status).toBe(200);
      const config = loadConfig(baseEnv(Number(new URL(url).port), { ...db.env, WECHAT_SANDBOX: 'true' }), { cwd: tempDir() });
      const s = await subject(url, config, 60);
      let second = 0;
      let exitCode = '';
      const started = Date.now();
      const outcomes = await steadyTraffic(
        (i) => mixedRequest(s, i),
        CONCURRENCY,
        (async () => {
          await new Promise((r) => setTimeout(r, 1500));
          exitCode = await command('stop'); // no process at all from here…
          second = Number(await command('start')); // …until this one accepts the queued connections
          await new Promise((r) => setTimeout(r, 1500));
        })(),
      );
      const r = summary(outcomes);
      console.log(
        `restart under load (socket held by the parent): ${r.total} requests in ${((Date.now() - started) / 1000).toFixed(1)} s (${JSON.stringify(r.byKind)}), ${r.failed.length} failed, slowest ${r.maxMs} ms (waited in the kernel's queue)`,
      );
      expect(exitCode).toBe('0');
      expect(second).not.toBe(first);
      expect(r.failed).toEqual([]);
      expect(r.total).toBeGreaterThan(12);
      await expectCreditedOnce(s.orders, Math.min(s.orders.length, Math.ceil(r.byKind.notify ?? 0)));
      expect(await command('stop')).toBe('0');
    }, 180_000);
  });
});
