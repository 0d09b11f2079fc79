import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp } from '../../src/app.setup';
import { AppConfig } from '../../src/config/app-config';
import { loadConfig } from '../../src/config/load-config';
import { DatabaseService } from '../../src/database/database.service';
import { trackAppLogs } from './app-logs';
import { createTestDatabase, dropTestDatabase, MYSQL, mysqlEnabled } from './mysql';

export type DbKind = 'sqlite' | 'mysql';
export type Env = Record<string, string>;

/** The databases every data e2e suite runs on: SQLite always, MySQL unless skipped outside CI. */
export function dbKinds(): DbKind[] {
  return mysqlEnabled() ? ['sqlite', 'mysql'] : ['sqlite'];
}

export const ROOT = resolve(__dirname, '../..');
export const TEST_SESSION_SECRET = 'test-session-secret-0123456789abcdef0123';

export function tempDir(prefix = 'wx-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A fresh, empty database of the given kind and the env that points the app at it. */
export class TestDatabase {
  private constructor(
    readonly kind: DbKind,
    readonly env: Env,
    readonly mysqlName?: string,
  ) {}

  static async create(kind: DbKind): Promise<TestDatabase> {
    if (kind === 'sqlite') {
      return new TestDatabase(kind, { DB_TYPE: 'sqlite', SQLITE_PATH: join(tempDir('wx-sqlite-'), 'app.sqlite') });
    }
    const name = await createTestDatabase('t');
    return new TestDatabase(
      kind,
      {
        DB_TYPE: 'mysql',
        MYSQL_HOST: MYSQL.host,
        MYSQL_PORT: String(MYSQL.port),
        MYSQL_USER: MYSQL.user,
        MYSQL_PASSWORD: MYSQL.password,
        MYSQL_DATABASE: name,
      },
      name,
    );
  }

  async drop(): Promise<void> {
    if (this.mysqlName) await dropTestDatabase(this.mysqlName);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

/** The env every test app starts from; a test's own values win. */
export function baseEnv(port: number, overrides: Env): Env {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    APP_HOST: '127.0.0.1',
    APP_PORT: String(port),
    SESSION_SECRET: TEST_SESSION_SECRET,
    DATA_DIR: tempDir('wx-data-'),
    ...overrides,
  };
}

export interface TestApp {
  url: string;
  config: AppConfig;
  app: NestExpressApplication;
  close(): Promise<void>;
}

/**
 * Boots the real application in this process and listens on a loopback port (real HTTP). A role
 * with a database is returned connected and migrated; `waitForDatabase: false` returns as soon as
 * it listens (a suite that starts it while the database is down).
 */
export async function startApp(env: Env, opts: { waitForDatabase?: boolean } = {}): Promise<TestApp> {
  const port = env.APP_PORT ? Number(env.APP_PORT) : await freePort();
  const full = baseEnv(port, env);
  const config = loadConfig(full, { cwd: full.DATA_DIR });
  const app = await createApp(config);
  await trackAppLogs(app);
  await app.listen(port, '127.0.0.1');
  const started: TestApp = { url: `http://127.0.0.1:${port}`, config, app, close: () => app.close() };
  if (config.role !== 'web' && opts.waitForDatabase !== false) {
    try {
      await app.get(DatabaseService).whenReady();
    } catch (err) {
      await started.close();
      throw err;
    }
  }
  return started;
}

export interface AppOnFreshDb extends TestApp {
  /** The app's own database: `db.env` starts more apps on it. */
  db: TestDatabase;
}

/**
 * What most data suites start from: a fresh database of `kind` and the app on it (`env` added),
 * connected and migrated. close() stops the app and then drops the database.
 */
export async function startAppOnFreshDb(kind: DbKind, env: Env = {}): Promise<AppOnFreshDb> {
  const db = await TestDatabase.create(kind);
  let started: TestApp;
  try {
    started = await startApp({ ...db.env, ...env });
  } catch (err) {
    await db.drop();
    throw err;
  }
  return {
    ...started,
    db,
    async close() {
      try {
        await started.close();
      } finally {
        await db.drop();
      }
    },
  };
}

export interface SpawnedApp {
  url: string;
  proc: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs the built service (`node dist/src/main.js`, or `main`) as its own process, as production does. */
export async function spawnApp(env: Env, opts: { waitHealthy?: boolean; timeoutMs?: number; main?: string } = {}): Promise<SpawnedApp> {
  const port = env.APP_PORT ? Number(env.APP_PORT) : await freePort();
  const full = baseEnv(port, env);
  const proc = spawn(process.execPath, [opts.main ?? join(ROOT, 'dist/src/main.js')], {
    cwd: full.DATA_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...full },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  let signalled: NodeJS.Signals | null = null;
  const spawned: SpawnedApp = {
    url,
    proc,
    output: () => out,
    /** Sends the signal once (a second SIGTERM would hit the default handler) and waits for the exit code. */
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null && signalled !== signal) {
        signalled = signal;
        proc.kill(signal);
      }
      return exited;
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`app exited with ${proc.exitCode}:\n${out}`);
    try {
      const res = await fetch(`${url}/api/v1/health`);
      if (!opts.waitHealthy || res.status === 200) return spawned;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await spawned.stop('SIGKILL');
      throw new Error(`app did not become ready at ${url}:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls until `check` returns true (for eventually-consistent states such as reconnection); a check that throws is false. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 15_000, stepMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await holds(check)) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

async function holds(check: () => boolean | Promise<boolean>): Promise<boolean> {
  try {
    return await check();
  } catch {
    return false;
  }
}
