// knex CLI configuration: `npm run migrate`, `npx knex migrate:latest`,
// `npx knex migrate:rollback`. The database is the direct primary
// (DATABASE_DIRECT_URL, else DATABASE_URL), read and validated by
// server/config.ts like everywhere else: migrations never go through a pooler.

import Fs from 'node:fs';
import Path from 'node:path';

import { loadConfig } from './server/config';
import { directKnexConfig } from './server/db/direct';
import { migrationConfig, seedConfig } from './server/db/migrations';

const config = loadConfig();
const { directDatabase } = config;

if (directDatabase.type === 'sqlite' && directDatabase.filename !== ':memory:') {
    Fs.mkdirSync(Path.dirname(directDatabase.filename), { recursive: true });
}

const knexConfig = {
    ...directKnexConfig(directDatabase, { ...config.pool, min: 0, max: directDatabase.type === 'sqlite' ? 1 : 2 }),
    migrations: migrationConfig,
    seeds: seedConfig
};

export = knexConfig;
