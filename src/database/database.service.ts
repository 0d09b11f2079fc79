import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { isDatabaseUnavailable, ServiceUnavailableError } from '../common/errors';
import { SerialQueue } from '../common/serial-queue';
import { buildDataSourceOptions, EntityList } from './data-source-options';
import { runMigrationsLocked } from './migrate';

/** Injection token of the entity list `DatabaseModule.forRoot` is given. */
export const DATABASE_ENTITIES = Symbol('DATABASE_ENTITIES');

const MAX_BACKOFF_MS = 15_000;
const DEADLOCK_RETRIES = 8;

/**
 * Owns the connection: connects in the background with backoff (the process listens and reports
 * unhealthy until the database is up), migrates at boot when configured, and is the only way
 * business code reaches the database. On SQLite every unit of work goes through one FIFO queue.
 */
@Injectable()
export class DatabaseService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(DatabaseService.name);
  readonly dataSource: DataSource;
  private readonly queue: SerialQueue | null;
  private ready = false;
  private stopped = false;
  private connecting: Promise<void> | null = null;

  constructor(
    private readonly config: AppConfig,
    @Inject(DATABASE_ENTITIES) entities: EntityList,
  ) {
    this.dataSource = new DataSource(buildDataSourceOptions(config, entities));
    this.queue = config.db.type === 'sqlite' ? new SerialQueue() : null;
  }

  get isReady(): boolean {
    return this.ready;
  }

  get isMysql(): boolean {
    return this.config.db.type === 'mysql';
  }

  onModuleInit(): Promise<void> {
    return this.start();
  }

  /**
   * Starts connecting. Resolves after the first attempt (so a healthy database is ready before the
   * server listens); failed attempts continue in the background with exponential backoff.
   */
  async start(): Promise<void> {
    let firstAttemptDone!: () => void;
    const first = new Promise<void>((r) => (firstAttemptDone = r));
    this.connecting = this.connectLoop(firstAttemptDone);
    await first;
  }

  /** Waits until connected (tests, the cluster primary). */
  async whenReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ready) {
      if (Date.now() > deadline || this.stopped) throw new ServiceUnavailableError();
      await sleep(50);
    }
  }

  private async connectLoop(firstAttemptDone: () => void): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        if (!this.dataSource.isInitialized) await this.dataSource.initialize();
        if (this.config.db.migrateOnStart) {
          const applied = await runMigrationsLocked(this.dataSource);
          if (applied.length) this.logger.log(`applied migrations: ${applied.map((m) => m.name).join(', ')}`);
        }
        this.ready = true;
        this.logger.log(`database connected (${this.config.db.type})`);
        firstAttemptDone();
        return;
      } catch (err) {
        const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(attempt, 5));
        this.logger.warn(`database not available (attempt ${attempt + 1}): ${describe(err)}; retrying in ${delay} ms`);
        firstAttemptDone();
        await sleep(delay);
      }
    }
  }

  /**
   * Runs `work` in one transaction (serialised on SQLite). Unavailability becomes a 503 error.
   * MySQL runs READ COMMITTED (set once per pooled connection, data-source-options.ts):
   * exactly-once rests on unique keys and conditional updates, and a transaction that lost an
   * INSERT IGNORE race must then *read* the winner's row — under InnoDB's default REPEATABLE READ
   * its snapshot predates that commit and the row would be invisible.
   */
  transaction<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    if (!this.isMysql) return this.guard(() => this.dataSource.transaction(work));
    return this.guard(() => this.retryDeadlocks(() => this.dataSource.transaction(work)));
  }

  /**
   * InnoDB resolves a deadlock by rolling the victim transaction back entirely (e.g. concurrent
   * INSERT IGNORE of the same key, each then upgrading its shared lock to update the row). The
   * work inside a transaction is database work only, so running it again is safe.
   */
  private async retryDeadlocks<T>(run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        if (attempt >= DEADLOCK_RETRIES || !isDeadlock(err)) throw err;
        await sleep(5 + Math.random() * 25 * attempt * attempt);
      }
    }
  }

  /** Runs non-transactional work (reads, single conditional statements), serialised on SQLite. */
  run<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.guard(() => work(this.dataSource.manager));
  }

  /** A cheap round trip for health checks. */
  async ping(timeoutMs = 2000): Promise<boolean> {
    if (!this.ready) return false;
    try {
      await withTimeout(
        this.run((em) => em.query('SELECT 1')),
        timeoutMs,
      );
      return true;
    } catch {
      return false;
    }
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    if (!this.ready) throw new ServiceUnavailableError();
    try {
      return await (this.queue ? this.queue.run(work) : work());
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw new ServiceUnavailableError(err);
      throw err;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.connecting?.catch(() => undefined);
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    this.ready = false;
  }
}

function isDeadlock(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; driverError?: { code?: string; errno?: number } };
  const d = e?.driverError ?? e;
  return d?.code === 'ER_LOCK_DEADLOCK' || d?.errno === 1213;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), ms))),
  ]);
}

/** Error text without connection strings or passwords: the code and the first line only. */
function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const msg = String(e?.message ?? err)
    .split('\n')[0]
    .slice(0, 200);
  return e?.code ? `${e.code}: ${msg}` : msg;
}
