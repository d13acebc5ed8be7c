// The one place that picks a migrator dialect by database type.

import type { DatabaseType } from '../../../server/db/url';
import { postgresMigrator } from './postgres';
import { sqliteMigrator } from './sqlite';
import type { MigratorDialect } from './types';

const dialects: Record<DatabaseType, MigratorDialect> = { sqlite: sqliteMigrator, postgres: postgresMigrator };

export function migratorDialect(type: DatabaseType): MigratorDialect {

    return dialects[type];
}
