import Boom from '@hapi/boom';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';
import Joi from 'joi';
import { KnexTimeoutError } from 'knex';

import { RetryExhaustedError } from '../../server/db/retry';
import { mapDatabaseError, OUTCOME_UNKNOWN, toBoom } from '../../server/errors';
import { createTestServer, type TestServer } from '../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

describe('error mapper', () => {

    let t: TestServer;

    before(async () => {

        t = await createTestServer();
    });

    after(async () => {

        await t.stop();
    });

    const failure = async (work: () => PromiseLike<unknown>) => {

        try {
            await work();
        }
        catch (error) {
            return error;
        }

        throw new Error('expected the database to refuse');
    };

    it('maps real constraint violations from the database to 4xx', async () => {

        const { User, Annotation, Resource } = t.server.models;
        await User.query().insert({ email: 'dup@example.org' });

        const unique = toBoom(await failure(() => User.query().insert({ email: 'dup@example.org' })));
        expect(unique.output.statusCode).to.equal(409);
        expect(unique.message).to.contain('already exists');

        const foreign = toBoom(await failure(() => Annotation.query().insert({
            resource_id: '00000000-0000-4000-8000-000000000000', start_offset: 0, end_offset: 1, highlighted_text: 'x'
        })));
        expect(foreign.output.statusCode).to.equal(409);

        const check = toBoom(await failure(() => Resource.query().insert(Resource.fromJson({ title: 't' }, { skipValidation: true }).$set({ quality_score: 7 }))));
        expect(check.output.statusCode).to.equal(400);

        const invalid = toBoom(await failure(() => Resource.query().insert({ title: '' })));
        expect(invalid.output.statusCode).to.equal(400);
    });

    it('answers pool exhaustion, exhausted retries and lost connections with 503 and Retry-After', () => {

        for (const error of [
            new KnexTimeoutError('Knex: Timeout acquiring a connection'),
            new RetryExhaustedError(5, Object.assign(new Error('could not serialize'), { code: '40001' })),
            Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
            Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
            Object.assign(new Error('connection failure'), { code: '08006' }),
            Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })
        ]) {
            const mapped = toBoom(error);
            expect(mapped.output.statusCode, error.message).to.equal(503);
            expect(mapped.output.headers['Retry-After']).to.match(/^\d+$/);
        }
    });

    it('answers a missing table or column (migrations not applied) with 503 and no SQL', async () => {

        const knex = t.server.knex;
        for (const work of [() => knex('no_such_table').select('id'), () => knex('resources').select('no_such_column')]) {
            const error = toBoom(await failure(work));
            expect(error.output.statusCode).to.equal(503);
            expect(error.output.headers['Retry-After']).to.equal('30');
            expect(error.output.payload.message).to.equal('The database schema is not up to date: an operator must apply the pending migrations.');
            expect(JSON.stringify(error.output.payload)).to.not.contain('no_such');
        }

        // A statement that is wrong for another reason stays a 500.
        const syntax = toBoom(await failure(() => knex.raw('SELEC 1')));
        expect(syntax.output.statusCode).to.equal(500);
    });

    it('maps an invalid byte sequence (22021) from a raw statement to 400', async () => {

        if (t.server.db.dialect.type !== 'postgres') {
            // SQLite stores any bytes: the input contract (server/input.ts) refuses NUL before it.
            return;
        }

        const error = toBoom(await failure(() => t.server.knex.raw("SELECT convert_from('\\x00'::bytea, 'UTF8')")));
        expect(error.output.statusCode).to.equal(400);
        expect(error.message).to.equal('A value contains characters the database cannot store (NUL or invalid Unicode)');
    });

    it('maps a write refused by a read-only database to 503 naming the cause', async () => {

        const readOnly = t.server.db.dialect.type === 'postgres' ? 'SET TRANSACTION READ ONLY' : 'PRAGMA query_only = 1';
        const error = await failure(() => t.server.knex.transaction(async (trx) => {

            await trx.raw(readOnly);
            try {
                await trx('users').insert({ id: '00000000-0000-4000-8000-0000000000aa', email: 'ro@example.org' });
            }
            finally {
                if (t.server.db.dialect.type !== 'postgres') {
                    await trx.raw('PRAGMA query_only = 0');
                }
            }
        }));
        for (const write of [true, false]) {
            const mapped = mapDatabaseError(error, { write })!;
            expect(mapped.output.statusCode).to.equal(503);
            expect(mapped.message).to.contain('The database is read-only');
            expect(mapped.output.headers['Retry-After']).to.equal('30');
        }
    });

    it('tells a write whose connection was lost that its outcome is unknown, and a read to retry', () => {

        for (const error of [
            new Error('Connection terminated unexpectedly'),
            Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
            Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
        ]) {
            expect(mapDatabaseError(error, { write: true })!.message, error.message).to.equal(OUTCOME_UNKNOWN);
            expect(mapDatabaseError(error, { write: false })!.message, error.message).to.equal('The database connection was lost. Retry shortly.');
            expect(mapDatabaseError(error)!.output.statusCode).to.equal(503);
        }
    });

    it('answers any other database error class with 503 or 400, keeping statement bugs as 500', () => {

        for (const code of ['53100', '53200', '54000', '55P03', '58030', 'XX000', '0A000', '42501', 'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_CORRUPT']) {
            const mapped = mapDatabaseError(Object.assign(new Error(`failure ${code}`), { code }))!;
            expect(mapped.output.statusCode, code).to.equal(503);
            expect(mapped.message).to.not.contain(code);
        }

        for (const code of ['22003', '22P02', '22008']) {
            expect(mapDatabaseError(Object.assign(new Error('bad value'), { code }))!.output.statusCode, code).to.equal(400);
        }

        for (const code of ['42601', '42883', 'SQLITE_ERROR']) {
            expect(toBoom(Object.assign(new Error('bug'), { code })).output.statusCode, code).to.equal(500);
        }
    });

    it('passes deliberate Boom errors through and hides unknown faults behind a 500', () => {

        const notFound = Boom.notFound('Resource x not found');
        expect(toBoom(notFound)).to.shallow.equal(notFound);
        const fault = toBoom(new Error('SELECT secret FROM users: boom'));
        expect(fault.output.statusCode).to.equal(500);
        expect(fault.output.payload.message).to.equal('An internal server error occurred');
        expect(mapDatabaseError(new Error('plain'))).to.be.null();
    });

    it('masks a URL password that a rejected value carries in the 400 message', async () => {

        t.server.route({
            method: 'GET',
            path: '/test/pattern',
            options: {
                validate: { query: Joi.object({ v: Joi.string().pattern(/^[a-z]+$/) }) },
                handler: () => 'ok'
            }
        });
        const res = await t.server.inject(`/test/pattern?v=${encodeURIComponent('postgres://admin:hunter2@db.example.org/library')}`);
        expect(res.statusCode).to.equal(400);
        expect(res.payload).to.contain('postgres://admin:***@db.example.org/library');
        expect(res.payload).to.not.contain('hunter2');
    });

    it('never returns SQL text for a server fault through the API', async () => {

        t.server.route([
            {
                method: 'GET',
                path: '/test/fault',
                handler: async (request) => await request.knex.raw('SELEC * FROM resources WHERE title = \'secret_title\'')
            },
            {
                method: 'GET',
                path: '/test/schema',
                handler: async (request) => await request.knex.raw('SELECT * FROM table_that_does_not_exist')
            }
        ]);
        const res = await t.server.inject('/test/fault');
        expect(res.statusCode).to.equal(500);
        expect(res.payload).to.not.contain('secret_title');
        expect(res.payload).to.not.contain('SELEC');

        const schema = await t.server.inject('/test/schema');
        expect(schema.statusCode).to.equal(503);
        expect(schema.headers['retry-after']).to.equal('30');
        expect(schema.payload).to.not.contain('table_that_does_not_exist');
        expect(schema.payload).to.not.contain('SELECT');
    });
});
