import Path from 'node:path';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { ConfigError, loadConfig, testDatabaseUrl, testPostgresUrl, testsRunInCi, DEFAULT_TEST_PG_URL } from '../../server/config';
import { connectionTarget, databaseKey, DatabaseUrlError, displayTarget, forDialect, getDatabaseType, isInMemory, onDatabase, parseDatabaseUrl, redactSecrets, redactUrl, sameDatabase } from '../../server/db/url';

export const lab = Lab.script();
const { describe, it } = lab;

const root = Path.resolve(__dirname, '..', '..');

describe('config', () => {

    it('defaults to a SQLite file under ./data and port 3000', () => {

        const config = loadConfig({}, root);
        expect(config.database.type).to.equal('sqlite');
        expect((config.database as { filename: string }).filename).to.equal(Path.join(root, 'data', 'neo-alexandria.db'));
        expect(config.port).to.equal(3000);
        expect(config.env).to.equal('development');
        expect(config.autoMigrate).to.be.true();
        expect(config.seedDemo).to.be.true();
        expect(config.plugins).to.equal({ api: true, monitoring: true, migrator: true, backup: true, console: true });
    });

    it('does not migrate or seed automatically in production', () => {

        const config = loadConfig({ NODE_ENV: 'production' }, root);
        expect(config.autoMigrate).to.be.false();
        expect(config.seedDemo).to.be.false();
    });

    it('reads pool overrides and plugin switches', () => {

        const config = loadConfig({
            DATABASE_URL: 'postgres://u:p@db:5432/lib',
            DB_POOL_MIN: '5', DB_POOL_MAX: '9', DB_POOL_RECYCLE_S: '60', DB_STATEMENT_TIMEOUT_MS: '1500',
            ENABLE_BACKUP: 'off', ENABLE_CONSOLE: '0'
        }, root);
        expect(config.database.type).to.equal('postgres');
        expect(config.pool).to.include({ min: 5, max: 9, recycleSeconds: 60, statementTimeoutMs: 1500 });
        expect(config.plugins.backup).to.be.false();
        expect(config.plugins.console).to.be.false();
    });

    it('reads DATABASE_DIRECT_URL, defaulting to DATABASE_URL, and refuses another dialect or a bad URL', () => {

        const pooled = 'postgres://neo:secret@pgbouncer:6432/lib';
        const both = loadConfig({ DATABASE_URL: pooled, DATABASE_DIRECT_URL: 'postgres://neo:secret@db:5432/lib' }, root);
        expect(both.database.url).to.equal(pooled);
        expect(both.directDatabase).to.include({ type: 'postgres', url: 'postgres://neo:secret@db:5432/lib' });

        const one = loadConfig({ DATABASE_URL: pooled }, root);
        expect(one.directDatabase).to.equal(one.database);

        expect(() => loadConfig({ DATABASE_URL: pooled, DATABASE_DIRECT_URL: 'sqlite:./x.db' }, root))
            .to.throw(ConfigError, 'Invalid DATABASE_DIRECT_URL: it must name the same PostgreSQL database as DATABASE_URL, without a pooler in between');
        const bad = expect(() => loadConfig({ DATABASE_URL: pooled, DATABASE_DIRECT_URL: 'postgres://neo:hunter2@db' }, root))
            .to.throw(ConfigError, /^Invalid DATABASE_DIRECT_URL: "postgres:\/\/neo:\*\*\*@db": no database name/);
        expect(bad.message).to.not.contain('hunter2');
    });

    it('rejects invalid values with one line naming the variable', () => {

        expect(() => loadConfig({ PORT: 'eighty' }, root)).to.throw(ConfigError, /^Invalid PORT: must be a number/);
        expect(() => loadConfig({ DB_POOL_MAX: '0' }, root)).to.throw(ConfigError, /DB_POOL_MAX/);
        expect(() => loadConfig({ DB_POOL_MIN: '10', DB_POOL_MAX: '2' }, root)).to.throw(ConfigError, 'Invalid DB_POOL_MIN: 10 is more than DB_POOL_MAX (2)');
        expect(loadConfig({ DB_POOL_MIN: '2', DB_POOL_MAX: '2' }, root).pool).to.include({ min: 2, max: 2 });
        expect(() => loadConfig({ ADMIN_TOKEN: 'short' }, root)).to.throw(ConfigError, /ADMIN_TOKEN/);
        expect(() => loadConfig({ NODE_ENV: 'staging' }, root)).to.throw(ConfigError, /NODE_ENV/);
    });

    it('rejects unsupported database URLs naming the accepted forms', () => {

        for (const url of ['mysql://root@localhost/db', 'garbage', 'http://example.org/db', 'postgres://', 'postgres://host-only', 'sqlite:']) {
            expect(() => loadConfig({ DATABASE_URL: url }, root), url).to.throw(DatabaseUrlError, /Accepted forms: .*postgres/);
        }
    });

    it('selects the test database from TEST_DATABASE_URL or TEST_DIALECT', () => {

        expect(testDatabaseUrl({})).to.be.null();
        expect(testDatabaseUrl({ TEST_DIALECT: 'postgres' })).to.equal(DEFAULT_TEST_PG_URL);
        expect(testDatabaseUrl({ TEST_DIALECT: 'postgres', TEST_DATABASE_URL: 'postgres://x@h/db' })).to.equal('postgres://x@h/db');
    });

    it('picks the PostgreSQL server of the cross-dialect tests: the suite\'s, else TEST_POSTGRES_URL, else the default', () => {

        expect(testPostgresUrl({})).to.equal(DEFAULT_TEST_PG_URL);
        expect(testPostgresUrl({ TEST_POSTGRES_URL: 'postgres://x@h:1/db' })).to.equal('postgres://x@h:1/db');
        expect(testPostgresUrl({ TEST_DATABASE_URL: 'sqlite:/tmp/t.db', TEST_POSTGRES_URL: 'postgres://x@h:1/db' })).to.equal('postgres://x@h:1/db');
        expect(testPostgresUrl({ TEST_DATABASE_URL: 'postgres://y@h/suite', TEST_POSTGRES_URL: 'postgres://x@h:1/db' })).to.equal('postgres://y@h/suite');
    });

    it('treats CI as set unless it is empty, false or 0', () => {

        expect(testsRunInCi({})).to.be.false();
        expect(testsRunInCi({ CI: '' })).to.be.false();
        expect(testsRunInCi({ CI: 'false' })).to.be.false();
        expect(testsRunInCi({ CI: '0' })).to.be.false();
        expect(testsRunInCi({ CI: 'true' })).to.be.true();
        expect(testsRunInCi({ CI: '1' })).to.be.true();
    });
});

describe('database URLs', () => {

    it('detects the dialect of every accepted form', () => {

        expect(getDatabaseType('sqlite:./data/x.db')).to.equal('sqlite');
        expect(getDatabaseType('sqlite:///tmp/x.db')).to.equal('sqlite');
        expect(getDatabaseType('file:x.db')).to.equal('sqlite');
        expect(getDatabaseType('sqlite::memory:')).to.equal('sqlite');
        expect(getDatabaseType('postgres://u@h:5432/db')).to.equal('postgres');
        expect(getDatabaseType('postgresql://u:p@h/db?sslmode=require')).to.equal('postgres');
    });

    it('resolves SQLite paths', () => {

        expect(parseDatabaseUrl('sqlite:///tmp/a b.db')).to.equal({ type: 'sqlite', filename: '/tmp/a b.db' });
        expect(parseDatabaseUrl('file:///tmp/x%20y.db')).to.equal({ type: 'sqlite', filename: '/tmp/x y.db' });
        expect(parseDatabaseUrl('sqlite:rel/x.db', '/base')).to.equal({ type: 'sqlite', filename: '/base/rel/x.db' });
        expect(parseDatabaseUrl('sqlite::memory:')).to.equal({ type: 'sqlite', filename: ':memory:' });
    });

    it('gives one key per database, whatever the credentials and options of the URL', () => {

        expect(databaseKey('postgres://alice:secret@DB.example:5432/library?sslmode=require')).to.equal('postgres://db.example:5432/library');
        expect(databaseKey('postgresql://bob@db.example/library')).to.equal('postgres://db.example:5432/library');
        expect(databaseKey('postgres://db.example:6432/library')).to.not.equal(databaseKey('postgres://db.example/library'));
        expect(databaseKey('sqlite:./data/x.db', '/srv/app')).to.equal(databaseKey('sqlite:///srv/app/data/x.db'));
    });

    it('answers what a URL connects to, how it is shown, and whether it lives in memory', () => {

        expect(connectionTarget(parseDatabaseUrl('sqlite:rel/x.db', '/base'))).to.equal('/base/rel/x.db');
        expect(connectionTarget(parseDatabaseUrl('postgres://u:pw@h/db'))).to.equal('postgres://u:pw@h/db');
        expect(displayTarget(parseDatabaseUrl('sqlite:rel/x.db', '/base'))).to.equal('sqlite:/base/rel/x.db');
        expect(displayTarget(parseDatabaseUrl('postgres://u:pw@h/db'))).to.equal('postgres://u:***@h/db');
        expect(isInMemory(parseDatabaseUrl('sqlite::memory:'))).to.be.true();
        expect(isInMemory(parseDatabaseUrl('sqlite:memory.db'))).to.be.false();
        expect(isInMemory(parseDatabaseUrl('postgres://h/memory'))).to.be.false();
    });

    it('knows when two URLs name the same database', () => {

        expect(sameDatabase('postgres://alice:pw@db/library', 'postgresql://bob@db:5432/library?sslmode=require')).to.be.true();
        expect(sameDatabase('postgres://db/library', 'postgres://db/archive')).to.be.false();
        expect(sameDatabase('sqlite:./x.db', 'sqlite:///srv/app/x.db', '/srv/app')).to.be.true();
        expect(sameDatabase('sqlite:///srv/app/x.db', 'postgres://db/x')).to.be.false();
    });

    it('chooses per dialect in one call', () => {

        expect(forDialect('sqlite', { sqlite: 1, postgres: 2 })).to.equal(1);
        expect(forDialect('postgres', { sqlite: 1, postgres: 2 })).to.equal(2);
        const kind = { sqlite: ({ filename }: { filename: string }) => `file ${filename}`, postgres: ({ connectionString }: { connectionString: string }) => `server ${connectionString}` };
        expect(onDatabase(parseDatabaseUrl('sqlite:///tmp/x.db'), kind)).to.equal('file /tmp/x.db');
        expect(onDatabase(parseDatabaseUrl('postgres://h/db'), kind)).to.equal('server postgres://h/db');
    });

    it('refuses a scheme no dialect accepts, whatever its name', () => {

        for (const url of ['mysql://h/db', 'constructor:x', 'toString:x', 'x.db']) {
            expect(() => parseDatabaseUrl(url), url).to.throw(DatabaseUrlError);
        }
    });

    it('reads the job and upkeep settings', () => {

        const config = loadConfig({ JOB_LEASE_MS: '2000', JOB_PROGRESS_INTERVAL_MS: '250', UPKEEP_INTERVAL_S: '5' });
        expect(config.jobs).to.equal({ leaseMs: 2000, progressIntervalMs: 250 });
        expect(config.upkeep).to.equal({ intervalMs: 5000 });
        expect(loadConfig({}).jobs).to.equal({ leaseMs: 30_000, progressIntervalMs: 1000 });
        expect(() => loadConfig({ JOB_LEASE_MS: '10' })).to.throw(ConfigError, /JOB_LEASE_MS/);
    });

    it('redacts passwords in URLs and free text', () => {

        expect(redactUrl('postgres://admin:s3cret@db:5432/lib')).to.equal('postgres://admin:***@db:5432/lib');
        expect(redactUrl('postgres://admin@db/lib?password=s3cret')).to.not.contain('s3cret');
        expect(redactSecrets('connect postgres://a:hunter2@h/db failed, password=hunter2')).to.not.contain('hunter2');
        expect(new DatabaseUrlError('mysql://root:pw@h/db', 'nope').message).to.not.contain(':pw@');
    });
});
