/**
 * `npm run migration:run`: applies pending migrations with the same options and lock as the app
 * (built output, no ts-node). Prints what it applied; exit 1 with one line on failure. Maps no
 * entity: the migrations are SQL (and database/ knows no feature's entities).
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { readEnvironment, defaultNodeEnv } from '../config/env-source';
import { loadConfig } from '../config/load-config';
import { buildDataSourceOptions } from './data-source-options';
import { runMigrationsLocked } from './migrate';

async function main(): Promise<void> {
  defaultNodeEnv('production');
  const config = loadConfig(readEnvironment());
  const ds = new DataSource(buildDataSourceOptions(config, []));
  await ds.initialize();
  try {
    const applied = await runMigrationsLocked(ds);
    console.log(applied.length ? `applied: ${applied.map((m) => m.name).join(', ')}` : 'no pending migrations');
  } finally {
    await ds.destroy();
  }
}

main().catch((err: Error) => {
  console.error(`migration failed: ${err.message.split('\n')[0]}`);
  process.exit(1);
});
