// Console panels: "Schema migrations" and "Data migration" as HTML fragments
// (see server/console/panel.ts for the contract).

import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_STRATEGY } from '../../server/auth';
import type { ConsolePanel } from '../../server/console/panel';
import { redactSecrets, redactUrl } from '../../server/db/url';
import { html, type Html } from '../../server/html';
import type { JobSnapshot, MigrationJobs } from './jobs';
import { MAX_BATCH_SIZE } from './migrator';
import { jobPayload, startJob } from './routes';
import { MigrationBusyError, migrateLatest, rollbackLastBatch, schemaStatus, type SchemaStatus } from './schema-control';

const SCHEMA = '/console/panels/schema-migrations';
const DATA = '/console/panels/data-migration';

export const panels: ConsolePanel[] = [
    { id: 'schema-migrations', title: 'Schema migrations', order: 30, path: SCHEMA },
    { id: 'data-migration', title: 'Data migration', order: 31, path: DATA }
];

function schemaFragment(status: SchemaStatus, output: Html | null = null): Html {

    const rows = [
        ...status.completed.map((name) => html`<tr><td>${name}</td><td>applied</td></tr>`),
        ...status.pending.map((name) => html`<tr><td>${name}</td><td><strong>pending</strong></td></tr>`)
    ];
    return html`<section id="schema-migrations" class="panel">
<h2>Schema migrations</h2>
${status.locked ? html`<p class="warning" role="alert">The knex migration lock is held: another migration is running, or one died holding it (release with <code>knex migrate:unlock</code>).</p>` : ''}
<table><thead><tr><th>Migration</th><th>State</th></tr></thead><tbody>${rows}</tbody></table>
<div class="actions">
  <button hx-get="${SCHEMA}/confirm?action=latest" hx-target="#schema-confirm" ${status.pending.length && !status.locked ? '' : 'disabled'}>Run latest (${status.pending.length} pending)</button>
  <button hx-get="${SCHEMA}/confirm?action=rollback" hx-target="#schema-confirm" ${status.completed.length && !status.locked ? '' : 'disabled'}>Roll back last batch</button>
</div>
<div id="schema-confirm"></div>
${output ? html`<div class="output" role="status">${output}</div>` : ''}
</section>`;
}

function jobFragment(job: JobSnapshot | null): Html {

    if (!job) {
        return html`<div id="data-migration-status"><p>No data migration has run since the server started.</p></div>`;
    }

    const running = job.status === 'running';
    const rows = (job.report?.tables.length ? job.report.tables.map((table) => ({
        table: table.table,
        progress: `${table.targetRows ?? table.copiedRows}/${table.sourceRows}`,
        checksum: table.checksumMatch === null ? '–' : table.checksumMatch ? 'match' : 'DIFFERS',
        rate: table.rowsPerSecond ? `${table.rowsPerSecond} rows/s` : '',
        status: table.status,
        errors: table.errors.map((error) => error.message).concat(table.differingKeys ?? []).join('; ')
    })) : job.tables.map((table) => ({
        table: table.table,
        progress: `${table.done}/${table.rows}`,
        checksum: '',
        rate: '',
        status: table.status,
        errors: ''
    })));

    return html`<div id="data-migration-status" ${running ? html`hx-get="${DATA}/status" hx-trigger="every 2s" hx-swap="outerHTML"` : ''}>
<p><strong>${job.dryRun ? 'Dry run' : 'Migration'} ${job.status}</strong>: ${job.source} → ${job.target}. ${job.phase}</p>
${job.error ? html`<p class="error" role="alert">${job.error}</p>` : ''}
${(job.report?.schemaIssues ?? []).map((issue) => html`<p class="error">${issue.table}: ${issue.message}</p>`)}
${(job.report?.warnings ?? []).map((warning) => html`<p class="warning">${warning}</p>`)}
<table><thead><tr><th>Table</th><th>Rows</th><th>Checksum</th><th>Speed</th><th>Status</th><th>Errors</th></tr></thead>
<tbody>${rows.map((row) => html`<tr><td>${row.table}</td><td>${row.progress}</td><td>${row.checksum}</td><td>${row.rate}</td><td>${row.status}</td><td>${row.errors}</td></tr>`)}</tbody></table>
${running ? html`<button hx-delete="${DATA}/job" hx-target="#data-migration-status" hx-swap="outerHTML">Cancel (resumable)</button>` : ''}
${job.report ? html`<p>${job.report.totalRows} row(s) in ${(job.report.durationMs / 1000).toFixed(1)} s (${job.report.rowsPerSecond} rows/s).</p>` : ''}
</div>`;
}

// Submitted URLs come back redacted: a password is never sent back to the page.
function dataFragment(job: JobSnapshot | null, error: string | null = null, values: Record<string, unknown> = {}): Html {

    const checked = (name: string, fallback = false) => ((values[name] ?? fallback) ? 'checked' : '');
    return html`<section id="data-migration" class="panel">
<h2>Data migration</h2>
<p>Copies every table between SQLite and PostgreSQL (either direction). The target gets the schema first; a non-empty target needs "resume" or "truncate".</p>
<form hx-post="${DATA}/start" hx-target="#data-migration" hx-swap="outerHTML">
  <label>Source URL <input name="source" required maxlength="2048" placeholder="sqlite:./data/neo-alexandria.db" value="${redactUrl(String(values.source ?? ''))}"></label>
  <label>Target URL <input name="target" required maxlength="2048" placeholder="postgres://user:password@host:5432/db" value="${redactUrl(String(values.target ?? ''))}"></label>
  <label>Batch size <input name="batchSize" type="number" min="1" max="${MAX_BATCH_SIZE}" value="${String(values.batchSize ?? 1000)}"></label>
  <label>Tables (comma separated, empty for all) <input name="tables" value="${String(values.tables ?? '')}"></label>
  <label><input type="checkbox" name="validate" value="true" ${checked('validate', true)}> validate checksums</label>
  <label><input type="checkbox" name="verifyRows" value="true" ${checked('verifyRows')}> name differing rows</label>
  <label><input type="checkbox" name="resume" value="true" ${checked('resume')}> resume</label>
  <label><input type="checkbox" name="truncate" value="true" ${checked('truncate')}> truncate target first</label>
  <label><input type="checkbox" name="maintenance" value="true" ${checked('maintenance')}> read-only library during the move (maintenance mode)</label>
  <label><input type="checkbox" name="onInvalid" value="reject" ${values.onInvalid === 'reject' ? 'checked' : ''}> set aside rows the target cannot hold (reject file)</label>
  <button name="dryRun" value="true" ${job?.status === 'running' ? 'disabled' : ''}>Dry run</button>
  <button name="dryRun" value="false" ${job?.status === 'running' ? 'disabled' : ''}>Start migration</button>
</form>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
${jobFragment(job)}
</section>`;
}

// Form fields arrive as text; checkboxes are absent when unchecked.
const formPayload = Joi.object({
    source: Joi.string().allow('').max(2048).default(''),
    target: Joi.string().allow('').max(2048).default(''),
    batchSize: Joi.string().allow('').max(10),
    tables: Joi.string().allow('').max(2000),
    validate: Joi.string().valid('true'),
    verifyRows: Joi.string().valid('true'),
    resume: Joi.string().valid('true'),
    truncate: Joi.string().valid('true'),
    maintenance: Joi.string().valid('true'),
    onInvalid: Joi.string().valid('reject'),
    dryRun: Joi.string().valid('true', 'false')
});

export function registerPanels(server: Server, jobs: MigrationJobs): void {


    const auth = { strategy: ADMIN_STRATEGY };
    const page = (h: any, fragment: Html, code = 200) => h.response(fragment.toString()).type('text/html; charset=utf-8').code(code);

    server.route<any>([
        {
            method: 'GET',
            path: SCHEMA,
            options: { auth },
            handler: async (request, h) => page(h, schemaFragment(await schemaStatus(request.server.knex)))
        },
        {
            method: 'GET',
            path: `${SCHEMA}/confirm`,
            options: { auth, validate: { query: Joi.object({ action: Joi.string().valid('latest', 'rollback').required() }) } },
            handler: async (request, h) => {

                const status = await schemaStatus(request.server.knex);
                const latest = request.query.action === 'latest';
                const what = latest ?
                    html`Apply ${status.pending.length} pending migration(s): ${status.pending.join(', ')}?` :
                    html`Roll back the last batch of migrations? Its tables and columns are dropped with their data.`;
                return page(h, html`<div class="confirm" role="alertdialog"><p>${what}</p>
<button hx-post="${SCHEMA}/${latest ? 'latest' : 'rollback'}" hx-target="#schema-migrations" hx-swap="outerHTML">Confirm</button>
<button hx-get="${SCHEMA}" hx-target="#schema-migrations" hx-swap="outerHTML">Cancel</button></div>`);
            }
        },
        ...(['latest', 'rollback'] as const).map((action) => ({
            method: 'POST' as const,
            path: `${SCHEMA}/${action}`,
            options: { auth },
            handler: async (request: any, h: any) => {

                const knex = request.server.knex;
                try {
                    const change = await (action === 'latest' ? migrateLatest(knex) : rollbackLastBatch(knex));
                    const verb = action === 'latest' ? 'Applied' : 'Rolled back';
                    const output = change.migrations.length ?
                        html`${verb} batch ${change.batch}: ${change.migrations.join(', ')}` :
                        html`Nothing to ${action === 'latest' ? 'apply' : 'roll back'}.`;
                    return page(h, schemaFragment(await schemaStatus(knex), output));
                }
                catch (error) {
                    if (error instanceof MigrationBusyError) {
                        return page(h, schemaFragment(await schemaStatus(knex), html`<span class="error">${error.message}</span>`), 409);
                    }

                    request.log(['migrator', 'error'], redactSecrets((error as Error).message));
                    const output = html`<span class="error">The ${action === 'latest' ? 'migration' : 'rollback'} failed and its transaction was rolled back; the server log has the details.</span>`;
                    return page(h, schemaFragment(await schemaStatus(knex), output), 500);
                }
            }
        })),
        {
            method: 'GET',
            path: DATA,
            options: { auth },
            handler: (_request, h) => page(h, dataFragment(jobs.current()))
        },
        {
            method: 'GET',
            path: `${DATA}/status`,
            options: { auth },
            handler: (_request, h) => page(h, jobFragment(jobs.current()))
        },
        {
            method: 'DELETE',
            path: `${DATA}/job`,
            options: { auth },
            handler: (_request, h) => {

                jobs.cancel();
                return page(h, jobFragment(jobs.current()));
            }
        },
        {
            method: 'POST',
            path: `${DATA}/start`,
            options: {
                auth,
                validate: {
                    payload: formPayload,
                    failAction: (_request, h, error) => page(h, dataFragment(jobs.current(), error?.message ?? 'Invalid form'), 400).takeover()
                }
            },
            handler: (request, h) => {

                const form = request.payload as Record<string, string | undefined>;
                const { value, error } = jobPayload.validate({
                    source: form.source,
                    target: form.target,
                    batchSize: form.batchSize || undefined,
                    tables: form.tables ? form.tables.split(',').map((name) => name.trim()).filter(Boolean) : undefined,
                    validate: form.validate === 'true',
                    verifyRows: form.verifyRows === 'true',
                    resume: form.resume === 'true',
                    truncate: form.truncate === 'true',
                    maintenance: form.maintenance === 'true',
                    onInvalid: form.onInvalid === 'reject' ? 'reject' : 'fail',
                    dryRun: form.dryRun === 'true'
                });
                if (error) {
                    return page(h, dataFragment(jobs.current(), redactSecrets(error.message), form), 400);
                }

                try {
                    startJob(jobs, value);
                }
                catch (failure) {
                    const code = Boom.isBoom(failure) ? failure.output.statusCode : 500;
                    if (code === 500) {
                        throw failure;
                    }

                    return page(h, dataFragment(jobs.current(), redactSecrets((failure as Error).message), form), code);
                }

                return page(h, dataFragment(jobs.current(), null, form));
            }
        }
    ]);
}
