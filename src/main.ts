import 'reflect-metadata';
import cluster from 'node:cluster';
import { DataSource } from 'typeorm';
import { createApp } from './app.setup';
import { AppConfig } from './config/app-config';
import { defaultNodeEnv, readEnvironment } from './config/env-source';
import { ConfigError, loadConfig } from './config/load-config';
import { buildDataSourceOptions } from './database/data-source-options';
import { runMigrationsLocked } from './database/migrate';

const SHUTDOWN_GRACE_MS = 10_000;

function loadOrExit(): AppConfig {
  try {
    return loadConfig(readEnvironment());
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
  // bounded by the grace period (deploy.md).
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
  await app.listen(config.http.port, config.http.host);
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  if (!cluster.isWorker) printBanner(config, url);
}

function printBanner(config: AppConfig, url: string): void {
  const lines = [
    `image-classifier-wechat ${config.version} — role ${config.role}, ${config.env}, database ${config.role === 'web' ? 'none' : config.db.type}`,
    `  listening   ${url}`,
    `  health      ${url}/api/v1/health`,
  ];
  if (config.http.docsEnabled && config.role !== 'web') lines.push(`  API docs    ${url}/docs`);
  if (config.wechat.sandbox) lines.push(`  sandbox     ${url}/sandbox   (WeChat simulator: pages, QR binding, payments)`);
  if (config.wechat.sandbox && config.wechat.sandboxHostsPort) {
    lines.push(`  WeChat APIs http://${config.http.host}:${config.wechat.sandboxHostsPort}   (the sandbox at /, for your own SDK: docs/sandbox-sdk.md)`);
  }
  console.log(lines.join('\n'));
}

/** WORKERS > 1: the primary migrates once, then forks workers that do not migrate. */
async function runPrimary(config: AppConfig): Promise<void> {
  if (config.role !== 'web' && config.db.migrateOnStart) {
    const ds = new DataSource(buildDataSourceOptions(config));
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
  let stopping = false;
  const fork = () => cluster.fork({ DB_MIGRATE_ON_START: 'false' });
  for (let i = 0; i < config.http.workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    console.error(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    fork();
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS + 1000).unref();
      cluster.on('exit', () => {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      });
    });
  }
  console.log(`primary ${process.pid}: ${config.http.workers} workers on ${config.http.host}:${config.http.port}`);
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
