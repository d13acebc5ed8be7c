// Console panels: "Schema migrations" and "Data migration" as HTML fragments
// (see server/console/panel.ts for the contract).

import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_STRATEGY } from '../../server/auth';
import { formatDuration, formatMilliseconds, formatNumber, formatTimestamp } from '../../server/console/format';
import { alert, badge, type BadgeTone } from '../../server/console/fragments';
import type { ConsolePanel } from '../../server/console/panel';
import { redactSecrets } from '../../server/db/url';
import { html, type Html } from '../../server/html';
import type { JobSnapshot, MigrationJobs } from './jobs';
import { MAX_BATCH_SIZE } from './migrator';
import { jobPayload, startJob } from './routes';
import { MigrationBusyError, migrateLatest, ReadOnlyStandbyError, rollbackLastBatch, schemaStatus, type SchemaStatus } from './schema-control';

const SCHEMA = '/console/panels/schema-migrations';
const DATA = '/console/panels/data-migration';

export const panels: ConsolePanel[] = [
    { id: 'schema-migrations', title: 'Schema migrations', order: 30, path: SCHEMA },
    { id: 'data-migration', title: 'Data migration', order: 31, path: DATA }
];

function schemaFragment(status: SchemaStatus, output: Html | null = null): Html {

    const rows = [
        ...status.completed.map((name) => html`<tr><td><code>${name}</code></td><td>${badge('applied', 'ok')}</td></tr>`),
        ...status.pending.map((name) => html`<tr><td><code>${name}</code></td><td>${badge('pending', 'warn')}</td></tr>`)
    ];
    return html`<div id="schema-migrations">
${status.locked ? alert('warning', html`The knex migration lock is held: another migration is running, or one died holding it (release it with <code>npx knex migrate:unlock</code>).`) : ''}
${output}
<p class="muted">${status.completed.length} applied, ${status.pending.length} pending.</p>
<table class="data"><thead><tr><th>Migration</th><th>State</th></tr></thead><tbody>${rows}</tbody></table>
<div class="actions">
  <button class="btn btn-primary" type="button" hx-get="${SCHEMA}/confirm?action=latest" hx-target="#schema-confirm" ${status.pending.length && !status.locked ? '' : 'disabled'}>Run latest (${status.pending.length} pending)</button>
  <button class="btn" type="button" hx-get="${SCHEMA}/confirm?action=rollback" hx-target="#schema-confirm" ${status.completed.length && !status.locked ? '' : 'disabled'}>Roll back last batch</button>
</div>
<div id="schema-confirm"></div>
</div>`;
}

const TABLE_TONES: Record<string, BadgeTone> = { ok: 'ok', done: 'ok', failed: 'error', mismatch: 'error', copying: 'info' };

function tableRows(job: JobSnapshot): Html[] {

    if (job.report?.tables.length) {
        return job.report.tables.map((table) => html`<tr>
  <td>${table.table}</td>
  <td class="num">${job.dryRun ? `${formatNumber(table.sourceRows)} to copy` : `${formatNumber(table.targetRows ?? table.copiedRows)} / ${formatNumber(table.sourceRows)}`}</td>
  <td>${table.checksumMatch === null ? html`<span class="muted">—</span>` : table.checksumMatch ? badge('match', 'ok') : badge('DIFFERS', 'error')}</td>
  <td class="num">${table.rowsPerSecond ? `${formatNumber(table.rowsPerSecond)} rows/s` : '—'}</td>
  <td>${badge(table.status, TABLE_TONES[table.status] ?? 'muted')}</td>
  <td>${table.errors.map((error) => error.message).concat(table.differingKeys ?? []).join('; ')}</td>
</tr>`);
    }

    return job.tables.map((table) => html`<tr>
  <td>${table.table}</td>
  <td class="num"><progress max="${table.rows}" value="${table.done}"></progress> ${formatNumber(table.done)} / ${formatNumber(table.rows)}</td>
  <td><span class="muted">—</span></td>
  <td class="num">—</td>
  <td>${badge(table.status, TABLE_TONES[table.status] ?? 'muted')}</td>
  <td></td>
</tr>`);
}

/** 3180 → "3.18 s"; past a minute, "12m 5s". */
const took = (ms: number) => (ms < 60_000 ? formatMilliseconds(ms) : formatDuration(ms / 1000));

// One sentence for the outcome: what ran, how it ended, what it did.
function outcome(job: JobSnapshot): Html {

    const what = job.dryRun ? 'Dry run' : 'Migration';
    const report = job.report;
    switch (job.status) {
        case 'running':
            return alert('info', html`<span class="spinner" aria-hidden="true"></span> <strong>${what} running</strong>: ${job.phase}.`);
        case 'succeeded':
            return alert('success', job.dryRun ?
                html`<strong>Dry run succeeded</strong>: ${formatNumber(report?.tables.length ?? 0)} table(s), ${formatNumber(report?.tables.reduce((sum, table) => sum + table.sourceRows, 0) ?? 0)} row(s) to copy. Nothing was written.` :
                html`<strong>Migration succeeded</strong>: ${formatNumber(report?.totalRows ?? 0)} row(s) in ${took(report?.durationMs ?? 0)} (${formatNumber(report?.rowsPerSecond ?? 0)} rows/s)${report?.validated ? ', checksums compared' : ''}.`);
        case 'cancelled':
            return alert('warning', html`<strong>${what} cancelled</strong>. Start it again with “resume” checked to continue where it stopped.`);
        default:
            return alert('error', html`<strong>${what} failed</strong>: ${job.error ?? 'see the table below'}`);
    }
}

/** The Dry run / Start buttons: disabled while a job runs; `oob` replaces them in the form from a status update. */
function formActions(job: JobSnapshot | null, oob = false): Html {

    const disabled = job?.status === 'running' ? html` disabled` : null;
    return html`<div class="actions" id="data-migration-actions"${oob ? html` hx-swap-oob="true"` : null}>
  <button class="btn" type="submit" name="dryRun" value="true"${disabled}>Dry run</button>
  <button class="btn btn-primary" type="submit" name="dryRun" value="false"${disabled}>Start migration</button>
</div>`;
}

/**
 * The job's state under the form. It replaces itself (outerHTML) on every
 * update and brings the form's buttons along out of band, so the form keeps
 * what was typed and its buttons come back when the job ends.
 */
function jobFragment(job: JobSnapshot | null, error: string | null = null): Html {

    const running = job?.status === 'running';
    const poll = running ? html` hx-get="${DATA}/status" hx-trigger="console:refresh" data-refresh-seconds="2" hx-swap="outerHTML"` : null;
    const body = job ? html`${outcome(job)}
<p class="muted">From <code>${job.source}</code> to <code>${job.target}</code>, started ${formatTimestamp(job.startedAt)}${job.finishedAt ? html`, ended ${formatTimestamp(job.finishedAt)}` : ''}.</p>
${(job.report?.schemaIssues ?? []).map((issue) => alert('error', html`${issue.table}: ${issue.message}`))}
${(job.report?.warnings ?? []).map((warning) => alert('warning', warning))}
${job.tables.length || job.report?.tables.length ? html`<table class="data">
<thead><tr><th>Table</th><th class="num">Rows</th><th>Checksum</th><th class="num">Speed</th><th>Status</th><th>Errors</th></tr></thead>
<tbody>${tableRows(job)}</tbody></table>` : ''}
${running ? html`<div class="actions"><button class="btn btn-danger" type="button" hx-delete="${DATA}/job" hx-target="#data-migration-status" hx-swap="outerHTML">Cancel (resumable)</button></div>` : ''}` :
        html`<p class="muted">No data migration has run since the server started.</p>`;

    return html`<div id="data-migration-status" class="job-status"${poll}>
${error ? alert('error', error) : ''}
${body}
</div>`;
}

/** A status update: the job's state plus the form's buttons, out of band. */
function jobUpdate(job: JobSnapshot | null, error: string | null = null): Html {

    return html`${jobFragment(job, error)}
${formActions(job, true)}`;
}

// No value is ever rendered into the URL fields: what was typed stays in the
// browser (the form is not re-rendered by a run), and a password never comes back.
function dataFragment(job: JobSnapshot | null): Html {

    return html`<div id="data-migration">
<p class="muted">Copies every table between SQLite and PostgreSQL (either direction). The target gets the schema first; a non-empty target needs “resume” or “truncate”.</p>
<form class="form" hx-post="${DATA}/start" hx-target="#data-migration-status" hx-swap="outerHTML">
  <div class="field">
    <label for="data-migration-source">Source URL</label>
    <input id="data-migration-source" name="source" type="text" inputmode="url" required maxlength="2048" autocomplete="off" spellcheck="false" aria-describedby="data-migration-source-hint">
    <p class="hint" id="data-migration-source-hint">For example <code>sqlite:./data/neo-alexandria.db</code></p>
  </div>
  <div class="field">
    <label for="data-migration-target">Target URL</label>
    <input id="data-migration-target" name="target" type="text" inputmode="url" required maxlength="2048" autocomplete="off" spellcheck="false" aria-describedby="data-migration-target-hint">
    <p class="hint" id="data-migration-target-hint">For example <code>postgres://user:password@host:5432/database</code>; the password is never shown back.</p>
  </div>
  <div class="form-row">
    <div class="field field-narrow">
      <label for="data-migration-batch">Batch size</label>
      <input id="data-migration-batch" name="batchSize" type="number" min="1" max="${MAX_BATCH_SIZE}" value="1000">
    </div>
    <div class="field">
      <label for="data-migration-tables">Tables</label>
      <input id="data-migration-tables" name="tables" type="text" autocomplete="off" spellcheck="false" aria-describedby="data-migration-tables-hint">
      <p class="hint" id="data-migration-tables-hint">Comma separated; empty for every table.</p>
    </div>
  </div>
  <fieldset class="checks">
    <legend>Options</legend>
    <label class="check"><input type="checkbox" name="validate" value="true" checked> Validate checksums</label>
    <label class="check"><input type="checkbox" name="verifyRows" value="true"> Name differing rows</label>
    <label class="check"><input type="checkbox" name="resume" value="true"> Resume</label>
    <label class="check"><input type="checkbox" name="truncate" value="true"> Truncate the target first</label>
    <label class="check"><input type="checkbox" name="maintenance" value="true"> Read-only library during the move (maintenance mode)</label>
    <label class="check"><input type="checkbox" name="onInvalid" value="reject"> Set aside rows the target cannot hold (reject file)</label>
  </fieldset>
  ${formActions(job)}
</form>
${jobFragment(job)}
</div>`;
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
                return page(h, html`<div class="alert alert-warning confirm" role="alertdialog" aria-label="Confirm"><p>${what}</p>
<div class="actions">
  <button class="btn ${latest ? 'btn-primary' : 'btn-danger'}" type="button" hx-post="${SCHEMA}/${latest ? 'latest' : 'rollback'}" hx-target="#schema-migrations" hx-swap="outerHTML">Confirm</button>
  <button class="btn btn-quiet" type="button" hx-get="${SCHEMA}" hx-target="#schema-migrations" hx-swap="outerHTML">Cancel</button>
</div></div>`);
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
                        alert('success', html`${verb} batch ${change.batch}: ${change.migrations.join(', ')}.`) :
                        alert('info', html`Nothing to ${action === 'latest' ? 'apply' : 'roll back'}.`);
                    return page(h, schemaFragment(await schemaStatus(knex), output));
                }
                catch (error) {
                    if (error instanceof MigrationBusyError) {
                        return page(h, schemaFragment(await schemaStatus(knex), alert('error', error.message)), 409);
                    }

                    if (error instanceof ReadOnlyStandbyError) {
                        return page(h, schemaFragment(await schemaStatus(knex), alert('error', error.message)), 503);
                    }

                    request.log(['migrator', 'error'], redactSecrets((error as Error).message));
                    const output = alert('error', html`The ${action === 'latest' ? 'migration' : 'rollback'} failed and its transaction was rolled back; the server log has the details.`);
                    return page(h, schemaFragment(await schemaStatus(knex), output), 500);
                }
            }
        })),
        {
            method: 'GET',
            path: DATA,
            options: { auth },
            handler: async (_request, h) => page(h, dataFragment(await jobs.current()))
        },
        {
            method: 'GET',
            path: `${DATA}/status`,
            options: { auth },
            handler: async (_request, h) => page(h, jobUpdate(await jobs.current()))
        },
        {
            method: 'DELETE',
            path: `${DATA}/job`,
            options: { auth },
            handler: async (_request, h) => {

                await jobs.cancel();
                return page(h, jobUpdate(await jobs.current()));
            }
        },
        {
            method: 'POST',
            path: `${DATA}/start`,
            options: {
                auth,
                validate: {
                    payload: formPayload,
                    failAction: async (_request, h, error) => page(h, jobUpdate(await jobs.current(), error?.message ?? 'Invalid form'), 400).takeover()
                }
            },
            handler: async (request, h) => {

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
                    return page(h, jobUpdate(await jobs.current(), redactSecrets(error.message)), 400);
                }

                try {
                    await startJob(jobs, value, request.server.config);
                }
                catch (failure) {
                    const code = Boom.isBoom(failure) ? failure.output.statusCode : 500;
                    if (code === 500) {
                        throw failure;
                    }

                    return page(h, jobUpdate(await jobs.current(), redactSecrets((failure as Error).message)), code);
                }

                return page(h, jobUpdate(await jobs.current()));
            }
        }
    ]);
}
