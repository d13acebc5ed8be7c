// Composes the server from config, prepares the database and starts it.
// `npm start` runs this file; tests call createServer() directly.

import Glue from '@hapi/glue';
import type { Server } from '@hapi/hapi';

import { ConfigError, loadConfig, type Config } from './config';
import { checkConnection, createDatabaseEngine, DatabaseUnreachableError, NotDirectError } from './db/engine';
import { migrateLatest, migrationConfig, migrationStatus, seedConfig } from './db/migrations';
import { prepareSessions } from './db/sessions';
import { StartupLockTimeoutError, withStartupLock } from './db/startup-lock';
import { DatabaseUrlError, redactSecrets } from './db/url';
import { manifest } from './manifest';

export async function createServer(config: Config): Promise<Server> {

    return await Glue.compose(manifest(config), { relativeTo: __dirname });
}

export class StartupError extends Error {

    constructor(message: string) {

        super(message);
        this.name = 'StartupError';
    }
}

export interface PrepareReport {
    migrated: string[];
    seeded: boolean;
}

/** True when the schema is current and there is nothing to seed; read-only (knex's own status check creates its tables when missing). */
async function nothingToPrepare(knex: Server['knex'], config: Config): Promise<boolean> {

    // knex creates its lock table after its migrations table: one check covers both.
    if (!await knex.schema.hasTable(`${migrationConfig.tableName!}_lock`)) {
        return false;
    }

    if ((await migrationStatus(knex)).pending.length) {
        return false;
    }

    if (!config.seedDemo) {
        return true;
    }

    const [{ count }] = await knex('resources').count({ count: '*' });
    return Number(count) > 0;
}

/**
 * Checks the connection, makes the session settings hold on pooled
 * connections (also behind PgBouncer) and logs what the operator must fix.
 */
async function prepareSessionsAtStart(server: Server, config: Config): Promise<void> {

    // DATABASE_DIRECT_URL set apart from DATABASE_URL: the pool goes through a pooler.
    const direct = config.directDatabase.url === config.database.url ? null :
        createDatabaseEngine(config.directDatabase.url, { ...config.pool, min: 0, max: 1 }, { baseDir: config.rootDir, kind: 'direct' });
    let report;
    try {
        if (direct) {
            await checkConnection(direct);
        }

        report = await prepareSessions(server.db, config.pool, direct);
    }
    finally {
        await direct?.destroy();
    }

    if (report.changed.length) {
        server.log(['db', 'startup'], `Session settings made this role's defaults in the database: ${report.changed.join(', ')}`);
    }

    for (const warning of report.warnings) {
        server.log(['db', 'startup', 'warn'], warning);
    }
}

/**
 * Brings the schema up to date (outside production) or refuses to run on an
 * outdated schema (production), then seeds the demo library into an empty
 * database when seeding is on.
 */
export async function prepareDatabase(server: Server, config: Config): Promise<PrepareReport> {

    const { knex } = server;
    const report: PrepareReport = { migrated: [], seeded: false };

    await prepareSessionsAtStart(server, config);

    // The usual start (schema current, library there) needs no lock, and
    // none of the extra connection the lock holds.
    if (await nothingToPrepare(knex, config)) {
        return report;
    }

    // Nothing can be written there: say so instead of failing on a lock or an INSERT.
    if (await server.db.dialect.isStandby(knex)) {
        throw new StartupError('DATABASE_URL is a read-only standby (PostgreSQL in recovery) and the database needs preparing (pending migrations, or demo data with SEED_DEMO on). ' +
            'Migrate the primary (the standby receives the change by replication) or point DATABASE_URL at the primary; set SEED_DEMO=0 to start on the standby as it is.');
    }

    // Several instances may start at once on an empty or outdated database:
    // one migrates and seeds under the lock, the others wait, then find the
    // schema current and the library seeded (the checks run under the lock).
    await withStartupLock(server.db, async () => {

        const { pending } = await migrationStatus(knex);
        if (pending.length) {
            if (!config.autoMigrate) {
                throw new StartupError(
                    `The database schema is not up to date (${pending.length} pending migration(s): ${pending.join(', ')}). ` +
                    'Run `npm run migrate` (or `npx knex migrate:latest`) with the same DATABASE_URL, then start again.');
            }

            report.migrated = await migrateLatest(knex);
        }

        if (config.seedDemo) {
            const [{ count }] = await knex('resources').count({ count: '*' });
            if (Number(count) === 0) {
                await knex.seed.run(seedConfig);
                report.seeded = true;
            }
        }
    }, { onWait: () => server.log(['startup'], 'Another instance is migrating or seeding the database: waiting for it') });

    return report;
}

/**
 * What start-up tells the operator about the ops console and ops routes. The
 * generated development token is printed here once, on the terminal only: it
 * never goes through the logger.
 */
export function adminStartupNotes(config: Config, uri: string): string[] {

    if (config.adminTokenSource === 'none') {
        return [`Ops console and ops routes are disabled: ADMIN_TOKEN is not set${config.env === 'production' ? ' (required in production)' : ''}. Set ADMIN_TOKEN (16+ characters) and restart to enable them.`];
    }

    const notes: string[] = [];
    if (config.plugins.console) {
        notes.push(`Ops console: ${uri}/console`);
    }

    if (config.adminTokenSource === 'generated') {
        notes.push(`Admin token generated for this development run (set ADMIN_TOKEN to choose your own): ${config.adminToken}`);
    }

    if (config.plugins.console && config.env === 'development' && config.auth.sessionSecretSource === 'generated') {
        notes.push(`Session secret generated for this development run (set SESSION_SECRET to keep console logins across restarts): ${config.auth.sessionSecret}`);
    }

    return notes;
}

const LOOPBACK_HOSTS = /^(?:localhost|ip6-localhost|::1|127(?:\.\d{1,3}){3})$/i;

/**
 * The start-up warning for a production server whose data API anyone on the
 * network can write to (API_AUTH=off on a non-loopback HOST), or null.
 */
export function apiAuthWarning(config: Config): string | null {

    if (config.env !== 'production' || config.auth.apiAuth !== 'off' || !config.plugins.api || LOOPBACK_HOSTS.test(config.host)) {
        return null;
    }

    return `WARNING: the data API is open to anyone who can reach ${config.host}:${config.port}: API_AUTH=off lets every client create, change and delete records. ` +
        'Set API_AUTH=writes (or all) and create API tokens with `npm run api-tokens -- create <name>`, or listen on a loopback HOST.';
}

async function main(): Promise<void> {

    let config: Config;
    try {
        config = loadConfig();
    }
    catch (error) {
        if (error instanceof ConfigError || error instanceof DatabaseUrlError) {
            console.error(`neo-alexandria: ${error.message}`);
            process.exit(1);
        }

        throw error;
    }

    const server = await createServer(config);

    try {
        const report = await prepareDatabase(server, config);
        if (report.migrated.length) {
            server.log(['startup'], `Applied ${report.migrated.length} migration(s)`);
        }

        if (report.seeded) {
            server.log(['startup'], 'Seeded the demo library into the empty database');
        }

        await server.start();
    }
    catch (error) {
        const message = error instanceof StartupError || error instanceof DatabaseUnreachableError || error instanceof NotDirectError || error instanceof StartupLockTimeoutError ? error.message : `cannot start: ${redactSecrets((error as Error).message)}`;
        console.error(`neo-alexandria: ${message}`);
        await server.stop({ timeout: 0 }).catch(() => {});
        process.exit(1);
    }

    console.log(`Neo Alexandria ${config.env} server on ${server.info.uri} (database: ${server.db.target})`);
    const warning = apiAuthWarning(config);
    if (warning) {
        console.warn(warning);
        server.log(['startup', 'security', 'warn'], warning);
    }

    for (const note of adminStartupNotes(config, server.info.uri)) {
        console.log(note);
    }

    let stopping = false;
    const shutdown = async (signal: string) => {

        if (stopping) {
            return;
        }

        stopping = true;
        console.log(`${signal} received: finishing in-flight requests, then closing the database pool`);
        try {
            // Stops accepting connections, waits for in-flight requests up to
            // the timeout, then onPostStop destroys the pool.
            await server.stop({ timeout: config.shutdownTimeoutMs });
            process.exit(0);
        }
        catch (error) {
            console.error(`neo-alexandria: shutdown failed: ${redactSecrets((error as Error).message)}`);
            process.exit(1);
        }
    };

    process.once('SIGINT', () => void shutdown('SIGINT'));
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

if (require.main === module) {
    main().catch((error: unknown) => {

        console.error(`neo-alexandria: ${redactSecrets((error as Error)?.message ?? String(error))}`);
        process.exit(1);
    });
}
