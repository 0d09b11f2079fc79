import 'reflect-metadata';
import cluster from 'node:cluster';
import { resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { createApp } from './app.setup';
import { AppConfig } from './config/app-config';
import { defaultNodeEnv, readEnvironment } from './config/env-source';
import { ConfigError } from './config/config-error';
import { loadConfig } from './config/load-config';
import { buildDataSourceOptions } from './database/data-source-options';
import { runMigrationsLocked } from './database/migrate';
import { ENTITIES } from './entities';
import { creditPackagesOf } from './payment/price-list';
import { describeTarget, listenTarget } from './process/listen-target';
import { WorkerPool } from './process/worker-pool';

const SHUTDOWN_GRACE_MS = 10_000;

function loadOrExit(): AppConfig {
  try {
    const config = loadConfig(readEnvironment());
    // The credit price lists are payment's to read; a bad one stops every role here (docs/config.md).
    creditPackagesOf(config.pricing);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

async function serve(config: AppConfig): Promise<void> {
  const app = await createApp(config);
  // SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close the pool, exit 0;
  // bounded by the grace period (docs/deploy.md).
  // A second signal (systemd, a cluster primary and a user can all send one) must not kill the
  // process mid-request: shutdown is idempotent.
  let stopping = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
      app.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
  // SIGHUP reloads a cluster's workers (runPrimary); a single process cannot replace itself
  // without closing its socket, so it says so instead of dying (SIGHUP's default action).
  process.on('SIGHUP', () => {
    if (!cluster.isWorker)
      console.error('SIGHUP ignored: a reload needs WORKERS > 1; restart instead (docs/deploy.md "Restart and reload")');
  });
  const target = listenTarget(process.env, { pid: process.pid, ppid: process.ppid, isWorker: cluster.isWorker }, config.http);
  // Nest passes the arguments through to http.Server#listen, which takes { fd } as well.
  if ('fd' in target) await app.listen(target as unknown as number);
  else await app.listen(target.port, target.host);
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  if (!cluster.isWorker) printBanner(config, url, 'fd' in target ? describeTarget(target) : '');
}

function printBanner(config: AppConfig, url: string, socket: string): void {
  const lines = [
    `image-classifier-wechat ${config.version} — role ${config.role}, ${config.env}, database ${config.role === 'web' ? 'none' : config.db.type}`,
    `  listening   ${url}`,
    `  health      ${url}/api/v1/health`,
  ];
  if (socket) lines.push(`  socket      ${socket}, kept open across restarts`);
  if (config.http.docsEnabled && config.role !== 'web') lines.push(`  API docs    ${url}/docs`);
  if (config.wechat.sandbox) lines.push(`  sandbox     ${url}/sandbox   (WeChat simulator: pages, QR binding, payments)`);
  if (config.wechat.sandbox && config.wechat.sandboxHostsPort) {
    lines.push(
      `  WeChat APIs http://${config.http.host}:${config.wechat.sandboxHostsPort}   (the sandbox at /, for your own SDK: docs/sandbox-sdk.md)`,
    );
  }
  console.log(lines.join('\n'));
}

/** WORKERS > 1: the primary migrates once, then forks workers that do not migrate. */
async function runPrimary(config: AppConfig): Promise<void> {
  let pool: WorkerPool | null = null;
  // Registered first: SIGHUP's default action would end the primary (and its socket).
  process.on('SIGHUP', () => void pool?.reload());
  if (config.role !== 'web' && config.db.migrateOnStart) {
    const ds = new DataSource(buildDataSourceOptions(config, ENTITIES));
    for (let attempt = 0; ; attempt++) {
      try {
        await ds.initialize();
        await runMigrationsLocked(ds);
        await ds.destroy();
        break;
      } catch (err) {
        if (ds.isInitialized) await ds.destroy().catch(() => undefined);
        const delay = Math.min(15_000, 500 * 2 ** Math.min(attempt, 5));
        console.error(`database not available for migrations (${(err as Error).message.split('\n')[0]}); retrying in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
  // Workers run the file on disk at the time they are forked: a reload picks up a new build.
  // Each worker accepts from the shared listening socket itself (SCHED_NONE) instead of the primary
  // accepting and handing connections over (round-robin): a connection handed to a worker that
  // exits before acknowledging it stays open in the primary and is never answered — seen as a
  // request hanging 60 s in a rolling reload. With SCHED_NONE a retiring worker just stops
  // accepting, and what waits in the kernel's queue is taken by the others.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: resolve(process.argv[1]) });
  const target = listenTarget(process.env, { pid: process.pid, ppid: process.ppid, isWorker: false }, config.http);
  const allLost = () => {
    console.error('every worker exited and the inherited socket went with them: exiting so that systemd restarts the service with it');
    process.exit(1);
  };
  const workers = (pool = new WorkerPool(
    config.http.workers,
    { DB_MIGRATE_ON_START: 'false' },
    SHUTDOWN_GRACE_MS,
    'fd' in target ? allLost : undefined,
  ));
  workers.start();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => void workers.stop().then(() => process.exit(0)));
  }
  console.log(
    `primary ${process.pid}: ${config.http.workers} workers on ${describeTarget(target)}; SIGHUP replaces them with the build on disk`,
  );
}

async function main(): Promise<void> {
  defaultNodeEnv('production'); // `npm run start:prod`; `npm start` sets development explicitly
  const config = loadOrExit();
  if (config.http.workers > 1 && cluster.isPrimary) return runPrimary(config);
  await serve(config);
}

main().catch((err) => {
  console.error(`fatal: ${(err as Error)?.stack ?? err}`);
  process.exit(1);
});
