// The advisor's routes: the JSON report and actions for scripts (admin token),
// and the console panel's fragment and action form (session + CSRF header).
// Every action needs an explicit confirmation in its payload.

import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Boom from '@hapi/boom';
import Joi from 'joi';

import { ADMIN_STRATEGY } from '../../server/auth';
import { documented } from '../../server/openapi';
import type { AdvisorAction, DatabaseAdvisor } from './advisor';
import { ADVISOR_ACTION_PATH, ADVISOR_PANEL, renderAdvisorPanel, type Flash } from './advisor-panel';
import { advisorActionResultSchema, advisorReportSchema } from './response-schemas';

const actionSchema = (actions: readonly string[], confirmation: Joi.Schema) => Joi.object({
    action: Joi.string().valid(...actions).required().description('What to do'),
    pid: Joi.number().integer().min(1).max(2 ** 31 - 1).description('Backend to cancel or terminate (PostgreSQL)'),
    table: Joi.string().pattern(/^[a-z_][a-z0-9_]{0,62}$/).description('Table to analyze (PostgreSQL)'),
    mode: Joi.string().valid('quick', 'full').description('Integrity check depth (SQLite)'),
    confirm: confirmation
});

export function advisorRoutes(advisor: DatabaseAdvisor): ServerRoute[] {

    const panel = async (h: ResponseToolkit, flash: Flash | null, code = 200) => h.response(renderAdvisorPanel(await advisor.report(), flash).value)
        .type('text/html').header('cache-control', 'no-store').code(code);

    return [
        {
            method: 'GET',
            path: '/monitoring/advisor',
            options: {
                tags: ['api', 'monitoring'],
                description: 'Database advice: query statistics, index advice, maintenance, sessions (admin token)',
                auth: ADMIN_STRATEGY,
                plugins: documented({ responses: { 200: { description: 'The dialect\'s advice', schema: advisorReportSchema } } }),
                validate: {
                    query: Joi.object({
                        fresh: Joi.boolean().default(false).description('Read the statistics now instead of serving the report of the last few seconds')
                    })
                },
                async handler(request: Request, h: ResponseToolkit) {

                    const { fresh } = request.query as { fresh: boolean };
                    return h.response(await advisor.report(fresh)).header('cache-control', 'no-store');
                }
            }
        },
        {
            method: 'POST',
            path: '/monitoring/advisor/actions',
            options: {
                tags: ['api', 'monitoring'],
                description: 'Cancel or terminate a backend, ANALYZE a table, reset query statistics (PostgreSQL); checkpoint or integrity check (SQLite). Admin token; confirm must be true.',
                auth: ADMIN_STRATEGY,
                plugins: documented({ responses: { 200: { description: 'The action was carried out', schema: advisorActionResultSchema } }, errors: [404, 409] }),
                validate: { payload: actionSchema(advisor.actions, Joi.boolean().valid(true).required().description('Must be true: the action is deliberate')).label('AdvisorAction') },
                async handler(request: Request) {

                    const { confirm: _confirm, ...action } = request.payload as AdvisorAction & { confirm: true };
                    return { message: await advisor.act(request, action) };
                }
            }
        },
        {
            method: 'GET',
            path: ADVISOR_PANEL.path,
            options: {
                auth: ADMIN_STRATEGY,
                handler: (_request: Request, h: ResponseToolkit) => panel(h, null)
            }
        },
        {
            method: 'POST',
            path: ADVISOR_ACTION_PATH,
            options: {
                auth: ADMIN_STRATEGY,
                validate: {
                    payload: actionSchema(advisor.actions, Joi.string().valid('yes').required()),
                    failAction: async (_request: Request, h: ResponseToolkit, error: Error | undefined) => (await panel(h, { kind: 'error', text: error?.message ?? 'Invalid form' }, 400)).takeover()
                },
                async handler(request: Request, h: ResponseToolkit) {

                    const { confirm: _confirm, ...action } = request.payload as AdvisorAction & { confirm: string };
                    try {
                        return await panel(h, { kind: 'success', text: await advisor.act(request, action) });
                    }
                    catch (error) {
                        if (Boom.isBoom(error) && error.output.statusCode < 500) {
                            return await panel(h, { kind: 'error', text: error.message }, error.output.statusCode);
                        }

                        throw error;
                    }
                }
            }
        }
    ];
}
