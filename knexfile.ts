// knex CLI configuration: `npm run migrate`, `npx knex migrate:latest`,
// `npx knex migrate:rollback`. The database comes from DATABASE_URL, read and
// validated by server/config.ts like everywhere else.

import Fs from 'node:fs';
import Path from 'node:path';

import { loadConfig } from './server/config';
import { dialectFor } from './server/db/engine';
import { migrationConfig, seedConfig } from './server/db/migrations';

const config = loadConfig();
const { database } = config;
const target = database.type === 'sqlite' ? database.filename : database.connectionString;

if (database.type === 'sqlite' && target !== ':memory:') {
    Fs.mkdirSync(Path.dirname(target), { recursive: true });
}

const knexConfig = {
    ...dialectFor(database.type).knexConfig(target, { ...config.pool, min: 0, max: database.type === 'sqlite' ? 1 : 2 }),
    migrations: migrationConfig,
    seeds: seedConfig
};

export = knexConfig;
