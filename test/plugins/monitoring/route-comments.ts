import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { routeComment, routeFromQuery } from '../../../plugins/monitoring/route-comments';
import { postgresOnly } from '../../helpers/database';
import { eventually } from '../../helpers/monitoring';
import { adminHeaders, createTestServer, type TestServer } from '../../helpers/server';

export const lab = Lab.script();
const { describe, it, before, after } = lab;

describe('monitoring: sessions attributed to the app route', () => {

    it('writes a comment no route name can end early, and reads it back', () => {

        expect(routeComment('GET /resources/{id}')).to.equal('/* route:GET /resources/{id} */ ');
        expect(routeFromQuery(`${routeComment('GET /resources/{id}')}select 1`)).to.equal('GET /resources/{id}');
        const odd = routeComment('GET /a*/b/*c\n');
        expect(odd).to.equal('/* route:GET /a* /b/ *c  */ ');
        expect(routeFromQuery(`${odd}select 1`)).to.equal('GET /a* /b/ *c ');
        expect(routeFromQuery('select 1')).to.be.null();
        expect(routeFromQuery('/* something else */ select 1')).to.be.null();
    });

    describe('postgres only: on a server with a route that keeps its transaction open', () => {

        let t: TestServer;
        let open: (() => void) | null = null;

        before(async () => {

            t = await createTestServer({ DB_POOL_MAX: '6' });
            // Leaves its transaction idle after an UPDATE until the test lets it go:
            // what a handler waiting on a slow remote call inside a transaction does.
            t.server.route({
                method: 'POST',
                path: '/test/linger/{id}',
                async handler(request) {

                    await request.knex.transaction(async (trx) => {

                        await trx('resources').where({ id: request.params.id }).update({ title: 'secret-title-value' });
                        await new Promise<void>((resolve) => {

                            open = resolve;
                        });
                    });
                    return { done: true };
                }
            });
        });

        after(async () => {

            open?.();
            await t.stop();
        });

        it('names the route that left a session idle in transaction, and the blocker\'s route of a blocked query', { ...postgresOnly, timeout: 30_000 }, async () => {

            const created = await t.server.inject({ method: 'POST', url: '/resources', payload: { title: 'Attributed' } });
            expect(created.statusCode, created.payload).to.equal(201);
            const id = (created.result as { id: string }).id;

            const lingering = t.server.inject({ method: 'POST', url: `/test/linger/${id}` });
            const advice = async () => ((await t.server.inject({ url: '/monitoring/advisor?fresh=true', headers: adminHeaders })).result as any).postgres.sessions;
            const idle = await eventually(async () => {

                const sessions = await advice();
                return sessions.idle_in_transaction.find((session: any) => session.route === 'POST /test/linger/{id}');
            }, 10_000, 'the lingering session in the report');
            expect(idle.ours).to.be.true();
            expect(idle.query).to.contain('update "resources"');
            expect(idle.query).to.not.contain('route:');
            expect(idle.query).to.not.contain('secret-title-value');

            // A real route's update of the same row waits for the lingering transaction.
            const patching = t.server.inject({ method: 'PATCH', url: `/resources/${id}`, payload: { title: 'Second' } });
            const sessions = await eventually(async () => {

                const found = await advice();
                return found.blocked.some((session: any) => session.route === 'PATCH /resources/{id}') ? found : undefined;
            }, 10_000, 'the blocked update in the report');
            const blocked = sessions.blocked.find((session: any) => session.route === 'PATCH /resources/{id}');
            expect(blocked.blocked_by).to.equal([idle.pid]);
            const blocker = sessions.blockers.find((session: any) => session.pid === idle.pid);
            expect(blocker.route).to.equal('POST /test/linger/{id}');
            expect(JSON.stringify(sessions)).to.not.contain('secret-title-value');

            open!();
            expect((await lingering).statusCode).to.equal(200);
            expect((await patching).statusCode).to.equal(200);
        });
    });
});
