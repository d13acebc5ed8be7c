// SQLite integrity checks for scripts (admin token): start one as a job and
// poll it. The console starts them through the advisor panel's action form
// (session + CSRF), which goes through the same jobs. PostgreSQL has no such
// pragma: starting one there is refused with what to use instead.

import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Boom from '@hapi/boom';
import Joi from 'joi';

import { ADMIN_STRATEGY, adminCredentials } from '../../server/auth';
import { documented } from '../../server/openapi';
import { advisorBoom } from './advisor';
import type { IntegrityChecks, IntegrityMode } from './integrity-checks';
import { integrityCheckJobSchema } from './response-schemas';

export const POSTGRES_NO_INTEGRITY_CHECK = 'Integrity checks (PRAGMA quick_check / integrity_check) are SQLite\'s. On PostgreSQL, check indexes and heap pages with the amcheck extension (pg_amcheck), and enable data checksums (initdb --data-checksums) to catch corrupted pages as they are read.';

export function integrityRoutes(checks: IntegrityChecks | null): ServerRoute[] {

    return [
        {
            method: 'POST',
            path: '/monitoring/integrity-checks',
            options: {
                tags: ['api', 'monitoring'],
                description: 'Start a SQLite integrity check as a job (202 with the job to poll; admin token, confirm must be true). 400 on PostgreSQL.',
                auth: ADMIN_STRATEGY,
                plugins: documented({ responses: { 202: { description: 'The check started (poll GET /monitoring/integrity-checks/{id})', schema: integrityCheckJobSchema } }, errors: [409] }),
                validate: {
                    payload: Joi.object({
                        mode: Joi.string().valid('quick', 'full').default('quick').description('quick: PRAGMA quick_check; full: PRAGMA integrity_check (slower)'),
                        confirm: Joi.boolean().valid(true).required().description('Must be true: the check reads the whole file')
                    }).label('IntegrityCheckRequest')
                },
                async handler(request: Request, h: ResponseToolkit) {

                    if (!checks) {
                        throw Boom.badRequest(POSTGRES_NO_INTEGRITY_CHECK);
                    }

                    const { mode } = request.payload as { mode: IntegrityMode };
                    try {
                        const job = await checks.start(mode);
                        request.log(['audit', 'advisor', 'info'], { msg: `Integrity check (${mode}) started as job ${job.id}`, action: 'integrity-check', by: adminCredentials(request)?.via === 'session' ? 'console session' : 'admin token' });
                        return h.response(job).code(202).header('cache-control', 'no-store');
                    }
                    catch (error) {
                        throw advisorBoom(error);
                    }
                }
            }
        },
        {
            method: 'GET',
            path: '/monitoring/integrity-checks/{id}',
            options: {
                tags: ['api', 'monitoring'],
                description: 'One integrity check job: state, progress, verdict and problems (admin token)',
                auth: ADMIN_STRATEGY,
                plugins: documented({ responses: { 200: { description: 'The job', schema: integrityCheckJobSchema } }, errors: [404] }),
                validate: { params: Joi.object({ id: Joi.string().guid().required() }) },
                async handler(request: Request, h: ResponseToolkit) {

                    const job = checks ? await checks.get(String(request.params.id)) : null;
                    if (!job) {
                        throw Boom.notFound('No such integrity check');
                    }

                    return h.response(job).header('cache-control', 'no-store');
                }
            }
        }
    ];
}
