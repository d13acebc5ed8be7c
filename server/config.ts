// The only module that reads process.env. Everything else receives a typed,
// validated Config object.

import { randomBytes } from 'node:crypto';
import Os from 'node:os';
import Path from 'node:path';
import Joi from 'joi';

import { DATABASE_NAMES, databaseKey, forDialect, getDatabaseType, hasReplicas, parseDatabaseUrl, redactUrl, sameDialect, type DatabaseType, type ParsedDatabaseUrl } from './db/url';
import { parseTrustProxy, TrustProxyError, type TrustedProxies } from './security/client-address';

export type NodeEnv = 'development' | 'test' | 'production';

export interface PoolOverrides {
    min?: number;
    max?: number;
    recycleSeconds?: number;
    idleTimeoutMs?: number;
    acquireTimeoutMs?: number;
    statementTimeoutMs?: number;
    prePingIdleMs?: number;
    applicationName?: string;
    sqliteBusyTimeoutMs?: number;
    /** SQLite page cache per connection, in MiB (default 64). */
    sqliteCacheMb?: number;
    /** PostgreSQL json/jsonb values come back as their text, unparsed (every digit of a number kept). */
    jsonAsText?: boolean;
}

export interface PluginSwitches {
    api: boolean;
    monitoring: boolean;
    migrator: boolean;
    backup: boolean;
    console: boolean;
}

export interface BackupRetention {
    /** Always keep the newest N backups. */
    keepLast: number;
    /** Keep the newest backup of each of the last N days / ISO weeks / months that have one. */
    daily: number;
    weekly: number;
    monthly: number;
    /** Delete backups older than this many days whatever the buckets say (0: no limit). */
    maxAgeDays: number;
}

export interface BackupSettings {
    /** PATH the PostgreSQL client tools are looked up on (BACKUP_PG_BIN_DIR first). */
    toolPath: string;
    /** Parallel pg_restore jobs for scratch restores (verify, partial restore). */
    restoreJobs: number;
    retention: BackupRetention;
    /** Warn when the newest backup is older than this many hours (0: never). */
    maxAgeHours: number;
    /** Warn when the newest verified backup is older than this many hours (0: never). */
    verifiedMaxAgeHours: number;
}

export interface MonitoringSettings {
    /** How many recent slow queries are kept in memory. */
    slowLogSize: number;
    /** Queries in one request above which a route is flagged as a likely N+1. */
    nPlusOneQueries: number;
    /** Pool utilization (percent) above which a warning is logged. */
    poolWarnPercent: number;
    /** At most one pool-pressure warning per this many seconds. */
    poolWarnIntervalS: number;
    /** True: GET /metrics needs no token (scrapers on a private network). */
    metricsPublic: boolean;
    /** This instance's name in /metrics (na_instance_info's app_instance): INSTANCE_NAME, else host:port. */
    instanceName: string;
    /**
     * How queries are tied to the route that issued them: `request` through
     * the statements' query context, stamped by request.knex/request.models
     * (nearly free); `async` through AsyncLocalStorage (also catches code that
     * uses server.knex inside a request, costs throughput on Node 20); `off`.
     */
    queryAttribution: QueryAttribution;
}

/** Where the admin token comes from: the environment, generated for this development run, or nowhere (ops disabled). */
export type AdminTokenSource = 'env' | 'generated' | 'none';

export type QueryAttribution = 'request' | 'async' | 'off';

export interface ConsoleSettings {
    /** Minutes a console login stays valid. */
    sessionTtlMinutes: number;
    /** Mark the session and CSRF cookies Secure (HTTPS only). */
    secureCookies: boolean;
}

export type LogFormat = 'auto' | 'pretty' | 'json';

export interface JobSettings {
    /** A running job whose owner has not renewed it for this long is marked failed (its instance died). */
    leaseMs: number;
    /** At most one progress write per job per this many milliseconds. */
    progressIntervalMs: number;
}

export interface UpkeepSettings {
    /** How often each instance offers to run the periodic work (one of them does it). */
    intervalMs: number;
}

/** Which data API requests need an API token (or the admin token). */
export type ApiAuthMode = 'off' | 'writes' | 'all';

/** Where the session secret comes from: the environment, or generated for this run. */
export type SessionSecretSource = 'env' | 'generated';

export interface AuthSettings {
    /** Signs console session cookies, CSRF tokens and device cookies; the same on every instance. */
    sessionSecret: string;
    sessionSecretSource: SessionSecretSource;
    /** Proxies whose X-Forwarded-For is believed (TRUST_PROXY). */
    trustProxy: TrustedProxies;
    apiAuth: ApiAuthMode;
}

/** Streaming replicas that serve the read-only routes (PostgreSQL only). */
export interface ReplicaSettings {
    /** DATABASE_REPLICA_URLS, in order; empty: every read goes to the primary. */
    urls: string[];
    /** REPLICA_MAX_LAG_MS: a replica further behind leaves the rotation until it catches up. */
    maxLagMs: number;
}

export interface Config {
    env: NodeEnv;
    host: string;
    port: number;
    logLevel: string;
    /** `pretty`: human-readable lines; `json`: one JSON object per line; `auto`: pretty in development on a terminal. */
    logFormat: LogFormat;
    database: ParsedDatabaseUrl & { url: string };
    /**
     * The primary without a pooler in between (DATABASE_DIRECT_URL, else
     * DATABASE_URL): pg_dump/pg_restore/psql, scratch databases, schema
     * migrations from the CLI and data migration.
     */
    directDatabase: ParsedDatabaseUrl & { url: string };
    replicas: ReplicaSettings;
    pool: PoolOverrides;
    adminToken: string | null;
    adminTokenSource: AdminTokenSource;
    console: ConsoleSettings;
    auth: AuthSettings;
    plugins: PluginSwitches;
    autoMigrate: boolean;
    seedDemo: boolean;
    slowQueryMs: number;
    monitoring: MonitoringSettings;
    backupDir: string;
    backup: BackupSettings;
    jobs: JobSettings;
    upkeep: UpkeepSettings;
    shutdownTimeoutMs: number;
    rootDir: string;
}

export const DEFAULT_SQLITE_FILE = './data/neo-alexandria.db';
export const DEFAULT_TEST_PG_URL = 'postgres://postgres@127.0.0.1:5432/neo_alexandria_test';

// TEST_DIALECT values that select PostgreSQL, and the database they use.
const TEST_DIALECT_URLS = new Map([['postgres', DEFAULT_TEST_PG_URL], ['pg', DEFAULT_TEST_PG_URL]]);

export class ConfigError extends Error {

    constructor(message: string) {

        super(message);
        this.name = 'ConfigError';
    }
}

export type Env = Record<string, string | undefined>;

const bool = () => Joi.boolean().truthy('1', 'yes', 'on').falsy('0', 'no', 'off');
const int = (min: number) => Joi.number().integer().min(min);

function attributionMode(value: string): QueryAttribution {

    if (value === 'request' || value === 'async') {
        return value;
    }

    return ['0', 'false', 'no', 'off'].includes(value) ? 'off' : 'request';
}

const schema = Joi.object({
    NODE_ENV: Joi.string().valid('development', 'test', 'production').default('development'),
    HOST: Joi.string().hostname().default('localhost'),
    PORT: Joi.number().port().default(3000),
    LOG_LEVEL: Joi.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
    LOG_FORMAT: Joi.string().lowercase().valid('auto', 'pretty', 'json').default('auto'),
    DATABASE_URL: Joi.string().trim().min(1),
    DATABASE_DIRECT_URL: Joi.string().trim().min(1),
    DATABASE_REPLICA_URLS: Joi.string().trim().allow(''),
    REPLICA_MAX_LAG_MS: int(1).max(24 * 3600 * 1000).default(5000),
    DB_POOL_MIN: int(0),
    DB_POOL_MAX: int(1),
    DB_POOL_RECYCLE_S: int(1),
    DB_POOL_IDLE_TIMEOUT_MS: int(100),
    DB_ACQUIRE_TIMEOUT_MS: int(10),
    DB_STATEMENT_TIMEOUT_MS: int(0),
    DB_PREPING_IDLE_MS: int(0),
    DB_APPLICATION_NAME: Joi.string().max(63).pattern(/^[\x20-\x7e]+$/),
    SQLITE_BUSY_TIMEOUT_MS: int(0),
    ADMIN_TOKEN: Joi.string().min(16).allow(''),
    CONSOLE_SESSION_TTL_MIN: int(1).max(7 * 24 * 60).default(8 * 60),
    CONSOLE_SECURE_COOKIES: bool(),
    SESSION_SECRET: Joi.string().min(32).allow(''),
    TRUST_PROXY: Joi.string().allow(''),
    API_AUTH: Joi.string().lowercase().valid('off', 'writes', 'all').default('off'),
    ENABLE_API: bool().default(true),
    ENABLE_MONITORING: bool().default(true),
    ENABLE_MIGRATOR: bool().default(true),
    ENABLE_BACKUP: bool().default(true),
    ENABLE_CONSOLE: bool().default(true),
    AUTO_MIGRATE: bool(),
    SEED_DEMO: bool(),
    SLOW_QUERY_MS: int(1).default(1000),
    SLOW_QUERY_LOG_SIZE: int(1).max(10_000).default(100),
    N_PLUS_ONE_QUERIES: int(2).default(10),
    POOL_WARN_PERCENT: Joi.number().min(1).max(100).default(90),
    POOL_WARN_INTERVAL_S: int(0).default(60),
    METRICS_PUBLIC: bool().default(false),
    INSTANCE_NAME: Joi.string().trim().min(1).max(200).pattern(/^[\x21-\x7e ]+$/),
    // Booleans still mean what they did: on is the default mode.
    QUERY_ATTRIBUTION: Joi.string().lowercase()
        .valid('request', 'async', 'off', '1', 'true', 'yes', 'on', '0', 'false', 'no')
        .default('request'),
    BACKUP_DIR: Joi.string().default('./backups'),
    BACKUP_PG_BIN_DIR: Joi.string(),
    BACKUP_RESTORE_JOBS: int(1).max(32).default(2),
    BACKUP_KEEP_LAST: int(1).default(3),
    BACKUP_KEEP_DAILY: int(0).default(7),
    BACKUP_KEEP_WEEKLY: int(0).default(4),
    BACKUP_KEEP_MONTHLY: int(0).default(6),
    BACKUP_MAX_AGE_DAYS: int(0).default(0),
    BACKUP_MAX_AGE_HOURS: int(0).max(24 * 366).default(26),
    BACKUP_VERIFIED_MAX_AGE_HOURS: int(0).max(24 * 366).default(24 * 8),
    JOB_LEASE_MS: int(1000).default(30_000),
    JOB_PROGRESS_INTERVAL_MS: int(100).default(1000),
    UPKEEP_INTERVAL_S: int(1).default(60),
    SHUTDOWN_TIMEOUT_MS: int(0).default(10_000)
}).unknown(true);

function parseDirectUrl(url: string, rootDir: string): ParsedDatabaseUrl {

    try {
        return parseDatabaseUrl(url, rootDir);
    }
    catch (error) {
        throw new ConfigError(`Invalid DATABASE_DIRECT_URL: ${(error as Error).message.replace(/^Unsupported DATABASE_URL /, '')}`);
    }
}

/**
 * DATABASE_REPLICA_URLS: zero or more PostgreSQL URLs, comma-separated, each
 * a database other than the primary's. Replicas need a PostgreSQL primary.
 */
function parseReplicaUrls(list: string | undefined, primary: ParsedDatabaseUrl & { url: string }, rootDir: string): string[] {

    if (!list) {
        return [];
    }

    if (!hasReplicas(primary)) {
        throw new ConfigError('Invalid DATABASE_REPLICA_URLS: read replicas need PostgreSQL (streaming replication); DATABASE_URL is SQLite, which has one writer and no replicas. Unset DATABASE_REPLICA_URLS, or point DATABASE_URL at PostgreSQL');
    }

    const urls = list.split(',').map((entry) => entry.trim());
    const seen = new Set<string>();
    urls.forEach((url, index) => {

        const position = `entry ${index + 1}`;
        if (!url) {
            throw new ConfigError(`Invalid DATABASE_REPLICA_URLS: ${position} is empty (a comma too many?)`);
        }

        let parsed: ParsedDatabaseUrl;
        try {
            parsed = parseDatabaseUrl(url, rootDir);
        }
        catch (error) {
            throw new ConfigError(`Invalid DATABASE_REPLICA_URLS: ${position}: ${(error as Error).message.replace(/^Unsupported DATABASE_URL /, '')}`);
        }

        if (!hasReplicas(parsed)) {
            throw new ConfigError(`Invalid DATABASE_REPLICA_URLS: ${position} is not a PostgreSQL URL (postgres://user:password@host:port/database)`);
        }

        const key = databaseKey(url, rootDir);
        if (key === databaseKey(primary.url, rootDir)) {
            throw new ConfigError(`Invalid DATABASE_REPLICA_URLS: ${position} names the primary itself (${redactUrl(url)}); list the standbys only`);
        }

        if (seen.has(key)) {
            throw new ConfigError(`Invalid DATABASE_REPLICA_URLS: ${position} repeats ${redactUrl(url)}`);
        }

        seen.add(key);
    });
    return urls;
}

/**
 * Turns an environment (process.env by default) into a validated Config.
 * Throws ConfigError with one readable line when something is wrong.
 */
export function loadConfig(env: Env = process.env, rootDir = Path.resolve(__dirname, '..')): Config {

    const { value, error } = schema.validate(env, { abortEarly: true, convert: true });
    if (error) {
        const detail = error.details[0]!;
        const key = String(detail.path[0] ?? '');
        throw new ConfigError(`Invalid ${key}: ${detail.message.replace(/^"[^"]+" /, '')}`);
    }

    // Both given and crossed is a typo, not a pool (one alone adapts: min is capped by max).
    if (value.DB_POOL_MIN !== undefined && value.DB_POOL_MAX !== undefined && value.DB_POOL_MIN > value.DB_POOL_MAX) {
        throw new ConfigError(`Invalid DB_POOL_MIN: ${value.DB_POOL_MIN} is more than DB_POOL_MAX (${value.DB_POOL_MAX})`);
    }

    const nodeEnv = value.NODE_ENV as NodeEnv;
    const url: string = value.DATABASE_URL ?? `sqlite:${DEFAULT_SQLITE_FILE}`;
    const parsed = parseDatabaseUrl(url, rootDir);
    const directUrl: string = value.DATABASE_DIRECT_URL ?? url;
    const direct = value.DATABASE_DIRECT_URL ? parseDirectUrl(directUrl, rootDir) : parsed;
    if (!sameDialect(direct, parsed)) {
        throw new ConfigError(`Invalid DATABASE_DIRECT_URL: it must name the same ${DATABASE_NAMES[parsed.type]} database as DATABASE_URL, without a pooler in between`);
    }

    const replicaUrls = parseReplicaUrls(value.DATABASE_REPLICA_URLS, { ...parsed, url }, rootDir);
    const production = nodeEnv === 'production';

    // Development without ADMIN_TOKEN gets a random token for this run (start-up
    // prints it); production and test without one keep ops routes disabled.
    let adminToken: string | null = value.ADMIN_TOKEN ? value.ADMIN_TOKEN : null;
    let adminTokenSource: AdminTokenSource = adminToken ? 'env' : 'none';
    if (!adminToken && nodeEnv === 'development') {
        adminToken = randomBytes(24).toString('base64url');
        adminTokenSource = 'generated';
    }

    let trustProxy: TrustedProxies;
    try {
        trustProxy = parseTrustProxy(value.TRUST_PROXY);
    }
    catch (error) {
        throw new ConfigError(`Invalid TRUST_PROXY: ${(error as TrustProxyError).message}`);
    }

    // Every instance must sign and check cookies with the same key, so
    // production needs it set whenever something signs with it. Elsewhere a
    // generated one does (development prints it so it can be kept).
    const apiAuth = value.API_AUTH as ApiAuthMode;
    let sessionSecret: string = value.SESSION_SECRET ? value.SESSION_SECRET : '';
    const sessionSecretSource: SessionSecretSource = sessionSecret ? 'env' : 'generated';
    if (!sessionSecret) {
        if (production && (adminToken || apiAuth !== 'off')) {
            throw new ConfigError('Invalid SESSION_SECRET: required in production when ADMIN_TOKEN is set or API_AUTH is not off (32+ characters, the same on every instance; e.g. `openssl rand -base64 48`)');
        }

        sessionSecret = randomBytes(32).toString('base64url');
    }

    return {
        env: nodeEnv,
        host: value.HOST,
        port: value.PORT,
        logLevel: value.LOG_LEVEL ?? (nodeEnv === 'test' ? 'silent' : 'info'),
        logFormat: value.LOG_FORMAT,
        database: { ...parsed, url },
        directDatabase: { ...direct, url: directUrl },
        replicas: { urls: replicaUrls, maxLagMs: value.REPLICA_MAX_LAG_MS },
        pool: {
            min: value.DB_POOL_MIN,
            max: value.DB_POOL_MAX,
            recycleSeconds: value.DB_POOL_RECYCLE_S,
            idleTimeoutMs: value.DB_POOL_IDLE_TIMEOUT_MS,
            acquireTimeoutMs: value.DB_ACQUIRE_TIMEOUT_MS,
            statementTimeoutMs: value.DB_STATEMENT_TIMEOUT_MS,
            prePingIdleMs: value.DB_PREPING_IDLE_MS,
            applicationName: value.DB_APPLICATION_NAME,
            sqliteBusyTimeoutMs: value.SQLITE_BUSY_TIMEOUT_MS
        },
        adminToken,
        adminTokenSource,
        console: {
            sessionTtlMinutes: value.CONSOLE_SESSION_TTL_MIN,
            // Behind TLS in production; plain http://localhost in development and tests.
            secureCookies: value.CONSOLE_SECURE_COOKIES ?? production
        },
        auth: { sessionSecret, sessionSecretSource, trustProxy, apiAuth },
        plugins: {
            api: value.ENABLE_API,
            monitoring: value.ENABLE_MONITORING,
            migrator: value.ENABLE_MIGRATOR,
            backup: value.ENABLE_BACKUP,
            console: value.ENABLE_CONSOLE
        },
        autoMigrate: value.AUTO_MIGRATE ?? !production,
        seedDemo: value.SEED_DEMO ?? !production,
        slowQueryMs: value.SLOW_QUERY_MS,
        monitoring: {
            slowLogSize: value.SLOW_QUERY_LOG_SIZE,
            nPlusOneQueries: value.N_PLUS_ONE_QUERIES,
            poolWarnPercent: value.POOL_WARN_PERCENT,
            poolWarnIntervalS: value.POOL_WARN_INTERVAL_S,
            metricsPublic: value.METRICS_PUBLIC,
            instanceName: value.INSTANCE_NAME ?? `${Os.hostname()}:${value.PORT}`,
            queryAttribution: attributionMode(value.QUERY_ATTRIBUTION)
        },
        backupDir: Path.resolve(rootDir, value.BACKUP_DIR),
        backup: {
            toolPath: [value.BACKUP_PG_BIN_DIR ? Path.resolve(rootDir, value.BACKUP_PG_BIN_DIR) : null, value.PATH ?? '/usr/local/bin:/usr/bin:/bin']
                .filter(Boolean).join(Path.delimiter),
            restoreJobs: value.BACKUP_RESTORE_JOBS,
            retention: {
                keepLast: value.BACKUP_KEEP_LAST,
                daily: value.BACKUP_KEEP_DAILY,
                weekly: value.BACKUP_KEEP_WEEKLY,
                monthly: value.BACKUP_KEEP_MONTHLY,
                maxAgeDays: value.BACKUP_MAX_AGE_DAYS
            },
            maxAgeHours: value.BACKUP_MAX_AGE_HOURS,
            verifiedMaxAgeHours: value.BACKUP_VERIFIED_MAX_AGE_HOURS
        },
        jobs: {
            leaseMs: value.JOB_LEASE_MS,
            progressIntervalMs: value.JOB_PROGRESS_INTERVAL_MS
        },
        upkeep: { intervalMs: value.UPKEEP_INTERVAL_S * 1000 },
        shutdownTimeoutMs: value.SHUTDOWN_TIMEOUT_MS,
        rootDir
    };
}

/**
 * The database the test suite runs against: TEST_DATABASE_URL when set,
 * otherwise the PostgreSQL test database when TEST_DIALECT=postgres, otherwise
 * null (the suite then uses a temporary SQLite file per test file).
 */
export function testDatabaseUrl(env: Env = process.env): string | null {

    if (env.TEST_DATABASE_URL) {
        return env.TEST_DATABASE_URL;
    }

    // The suite's dialect by name (pg for postgres); anything else is SQLite.
    return TEST_DIALECT_URLS.get(env.TEST_DIALECT ?? '') ?? null;
}

/**
 * The PostgreSQL database whose server hosts the scratch databases of the
 * tests that need both dialects in one run (ranking parity, data migration):
 * the suite's own database on PostgreSQL, else TEST_POSTGRES_URL, else the
 * default PostgreSQL test database.
 */
export function testPostgresUrl(env: Env = process.env): string {

    const suite = testDatabaseUrl(env);
    const suitePostgres = suite && forDialect(getDatabaseType(suite), { postgres: suite, sqlite: null });
    return suitePostgres || env.TEST_POSTGRES_URL || DEFAULT_TEST_PG_URL;
}

/**
 * True under CI (`CI` set, and not `false` or `0`): there a test never skips
 * for a missing server or tool, it fails instead.
 */
export function testsRunInCi(env: Env = process.env): boolean {

    return Boolean(env.CI) && !['false', '0'].includes(env.CI!.toLowerCase());
}

export type { DatabaseType };
