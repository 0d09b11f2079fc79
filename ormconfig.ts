/**
 * For the TypeORM CLI (`npx typeorm migration:show -d dist/ormconfig.js`): the same options
 * builder as the app, so there is one copy of the database settings.
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { readEnvironment } from './src/config/env-source';
import { loadConfig } from './src/config/load-config';
import { buildDataSourceOptions } from './src/database/data-source-options';
import { ENTITIES } from './src/entities';

export default new DataSource(buildDataSourceOptions(loadConfig(readEnvironment()), ENTITIES));
