import { randomUUID } from 'node:crypto';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import type { Knex } from 'knex';

import { createDatabaseEngine } from '../../server/db/engine';
import { originOf, scopeKnex, scopeModels } from '../../server/db/scope';
import type { DatabaseEngine } from '../../server/db/types';
import { bindModels, type Models } from '../../server/models';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

export const lab = Lab.script();
const { describe, it, before, after, beforeEach } = lab;

describe('request-scoped database handles (server/db/scope.ts)', () => {

    let database: TestDatabase;
    let engine: DatabaseEngine;
    let models: Models;
    // The origin each finished statement carried, in order (undefined: none).
    let seen: Array<{ origin: unknown; sql: string }> = [];
    const record = (_response: unknown, query: { queryContext?: unknown; sql: string }) => {

        seen.push({ origin: originOf(query.queryContext), sql: query.sql });
    };

    const origin = { name: 'request 1' };
    const other = { name: 'request 2' };
    const statements = () => seen.filter((entry) => !/^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)/i.test(entry.sql));

    before(async () => {

        database = await createTestDatabase();
        engine = createDatabaseEngine(database.url, { min: 0, max: 2 });
        models = bindModels(engine.knex);
        engine.knex.on('query-response', record);
    });

    after(async () => {

        engine.knex.off('query-response', record);
        await engine.destroy();
        await database.cleanup();
    });

    beforeEach(() => {

        seen = [];
    });

    it('stamps builders, shorthand builders and raws; the shared instance stays unstamped', async () => {

        const knex = scopeKnex(engine.knex, { origin });
        await knex('resources').count({ n: '*' });
        await knex.select(knex.raw('1 AS one'));
        await knex.queryBuilder().from('resources').first();
        await knex.raw('SELECT 2 AS two');
        await engine.knex.raw('SELECT 3 AS three');
        expect(statements().map((entry) => entry.origin)).to.equal([origin, origin, origin, origin, undefined]);
    });

    it('keeps two views apart and leaves the instance\'s own properties reachable', async () => {

        const first = scopeKnex(engine.knex, { origin });
        const second = scopeKnex(engine.knex, { origin: other });
        await Promise.all([first.raw('SELECT 1 AS a'), second.raw('SELECT 1 AS b')]);
        expect(statements().map((entry) => entry.origin)).to.only.include([origin, other]);
        expect(first.client).to.shallow.equal(engine.knex.client);
        expect(first.fn.now()).to.exist();
        expect(typeof first.schema.hasTable).to.equal('function');
    });

    it('stamps statements in a transaction it opens, with a callback or as a promise', async () => {

        const knex = scopeKnex(engine.knex, { origin });
        const id = randomUUID();
        await knex.transaction(async (trx) => {

            await trx('users').insert({ id, email: `${id}@example.org` });
            await trx.raw('SELECT 1 AS one');
        });

        const trx = await knex.transaction();
        await trx('users').where({ id }).delete();
        await trx.commit();

        expect(statements().map((entry) => entry.origin)).to.equal([origin, origin, origin]);
        expect(await engine.knex('users').where({ id }).first()).to.not.exist();
    });

    it('runs models on the view unless given a transaction, eager loads included', async () => {

        const knex = scopeKnex(engine.knex, { origin });
        const scoped = scopeModels(models, knex);
        const resource = await scoped.Resource.query().insert({ title: 'Scoped', subject: ['a'] } as any);
        await scoped.Resource.query().findById(resource.id).withGraphFetched('annotations');
        await scoped.Resource.relatedQuery('annotations').for(resource.id);
        await models.Resource.query().deleteById(resource.id);

        const origins = statements().map((entry) => entry.origin);
        // insert (+ the read-back on PostgreSQL's RETURNING or SQLite's select), find, eager load, related, unscoped delete
        expect(origins.at(-1)).to.be.undefined();
        expect(origins.slice(0, -1)).to.only.include([origin]);
        expect(origins.length).to.be.at.least(5);
        expect(scoped.Resource.tableName).to.equal('resources');
        expect(scoped.Resource.fromJson({ title: 'x' })).to.be.an.instanceof(models.Resource);
    });

    it('stamps statements in a transaction a scoped model opens, with a callback or started', async () => {

        const scoped = scopeModels(models, scopeKnex(engine.knex, { origin }));
        const resource = await scoped.Resource.transaction(async (trx) => {

            const inserted = await scoped.Resource.query(trx).insert({ title: 'In a transaction' } as any);
            return await inserted.$query(trx).patchAndFetch({ title: 'Patched in a transaction' } as any);
        });

        const trx = await scoped.Resource.startTransaction();
        await scoped.Resource.query(trx).deleteById(resource.id);
        await trx.commit();

        const origins = statements().map((entry) => entry.origin);
        expect(origins.length).to.be.at.least(4);
        expect(origins).to.only.include([origin]);
        expect(await engine.knex('resources').where({ id: resource.id }).first()).to.not.exist();
    });

    it('keeps a transaction given to a scoped model', async () => {

        const scoped = scopeModels(models, scopeKnex(engine.knex, { origin }));
        await engine.knex.transaction(async (trx: Knex.Transaction) => {

            await scoped.Resource.query(trx).count({ n: '*' });
        });

        await scoped.Resource.transaction(engine.knex, async (trx: Knex.Transaction) => {

            await scoped.Resource.query(trx).count({ n: '*' });
        });

        expect(statements().map((entry) => entry.origin)).to.equal([undefined, undefined]);
    });
});
