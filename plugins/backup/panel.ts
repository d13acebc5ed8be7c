// The "Backups" console panel: HTML fragments under /console/panels/backups.
// Every action re-renders the panel with a message; while a job runs the
// panel polls itself so the operator sees the progress.

import type { Request, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';

import { ADMIN_STRATEGY } from '../../server/auth';
import type { ConsolePanel } from '../../server/console/panel';
import { formatBytes, formatDuration, formatTimestamp } from '../../server/console/format';
import { alert, badge } from '../../server/console/fragments';
import { html, type Html } from '../../server/html';
import type { BackupEngine, BackupEntry } from './engine';
import { BackupError } from './errors';
import { backupFreshness, type BackupFreshness, type FreshnessThresholds } from './freshness';
import { uniquePart, type BackupJob, type BackupJobs } from './jobs';
import { BACKUP_NAME, refuseWhileRunning, TABLE_NAME } from './routes';

export const PANEL_PATH = '/console/panels/backups';

export const backupPanel: ConsolePanel = {
    id: 'backups',
    title: 'Backups',
    order: 50,
    path: PANEL_PATH
};

type Flash = { kind: 'success' | 'error'; text: string } | null;

function verificationCell(entry: BackupEntry): Html {

    const verification = entry.manifest?.verification;
    if (!entry.manifest) {
        return badge('no manifest', 'warn');
    }

    if (!verification) {
        return badge('not verified', 'muted');
    }

    const at = formatTimestamp(verification.at);
    return verification.ok ?
        badge(`verified ${at}`, 'ok') :
        html`${badge(`failed ${at}`, 'error')} <span class="muted">${verification.detail}</span>`;
}

function jobBox(job: BackupJob | null, last: BackupJob | null): Html | null {

    if (job) {
        const { progress } = job;
        const fraction = progress?.total ? html` <progress max="${progress.total}" value="${progress.done ?? 0}">${progress.done ?? 0}/${progress.total}</progress>` : null;
        // Re-renders the panel (the shell's visibility-aware timer) until the job is over.
        return html`<div class="alert alert-info job" hx-get="${PANEL_PATH}" hx-trigger="console:refresh" data-refresh-seconds="2" hx-target="#panel-body" role="status">
  <span class="spinner"></span> <strong>${job.operation}</strong> ${job.target}: ${progress?.phase ?? 'starting'}${fraction} <span class="muted">(instance ${job.instance})</span>
</div>`;
    }

    if (last) {
        return last.state === 'succeeded' ?
            alert('success', html`<strong>${last.operation}</strong> ${last.target}: ${summarise(last)}`) :
            alert('error', html`<strong>${last.operation}</strong> ${last.target} ${last.state}: ${last.error}`);
    }

    return null;
}

function summarise(job: BackupJob): string {

    const result = job.result as Record<string, any> | null;
    if (job.operation === 'create') {
        return `created ${result?.name} (${formatBytes(result?.size)})`;
    }

    if (job.operation === 'verify') {
        return result?.ok ? 'checksum and row counts match' : `problems: ${(result?.problems ?? []).join('; ')}`;
    }

    return `restored (${result?.mode}): ${Object.entries(result?.tables ?? {}).map(([table, count]) => `${table} ${count}`).join(', ')}`;
}

/** The warning badges of the Backups panel when the newest (verified) backup is too old. */
export function freshnessBadges(freshness: BackupFreshness): Html {

    const age = (backup: BackupFreshness['newest']) => (backup ? `${formatDuration(backup.age_s)} old` : 'none');
    return html`<p class="freshness">Newest backup: ${age(freshness.newest)} ${freshness.stale ? badge(`over ${freshness.max_age_hours} h: take a backup`, 'warn') : freshness.max_age_hours ? badge('fresh', 'ok') : ''}
· newest verified: ${age(freshness.newest_verified)} ${freshness.verified_stale ? badge(`over ${freshness.verified_max_age_hours} h: verify a recent backup`, 'warn') : freshness.verified_max_age_hours ? badge('fresh', 'ok') : ''}</p>`;
}

export async function renderPanel(engine: BackupEngine, jobs: BackupJobs, flash: Flash = null, thresholds: FreshnessThresholds = { maxAgeHours: 0, verifiedMaxAgeHours: 0 }): Promise<Html> {

    const entries = await engine.list();
    const freshness = backupFreshness(entries, thresholds);
    const now = new Date();
    const running = await jobs.running();
    const last = (await jobs.recent())[0] ?? null;
    const disabled = running ? html` disabled` : null;

    const rows = entries.map((entry) => html`<tr>
  <td><code>${entry.name}</code></td>
  <td>${entry.format}</td>
  <td class="num">${formatBytes(entry.size)}</td>
  <td title="${formatTimestamp(entry.createdAt)}">${formatDuration((now.getTime() - new Date(entry.createdAt).getTime()) / 1000)}</td>
  <td>${verificationCell(entry)}</td>
  <td class="actions">
    <form hx-post="${PANEL_PATH}/verify" hx-target="#panel-body">
      <input type="hidden" name="name" value="${entry.name}">
      <button class="btn btn-small" type="submit"${disabled}>Verify</button>
    </form>
    ${entry.manifest ? html`<details>
      <summary>Restore…</summary>
      <form hx-post="${PANEL_PATH}/restore" hx-target="#panel-body">
        <input type="hidden" name="name" value="${entry.name}">
        <div class="form-row"><label>Tables (empty: the whole database)
          <input name="tables" placeholder="e.g. resources, annotations" autocomplete="off">
        </label></div>
        <div class="form-row"><label>Type <code>${engine.confirmationName}</code> to confirm
          <input name="confirm" required autocomplete="off">
        </label></div>
        <button class="btn btn-small btn-danger" type="submit"${disabled}>Restore</button>
      </form>
    </details>` : null}
  </td>
</tr>`);

    return html`<div class="backups">
${flash ? alert(flash.kind, flash.text) : null}
${jobBox(running, last)}
${freshnessBadges(freshness)}
<p class="muted">${engine.dialect} database <code>${engine.database}</code>; backups in <code>${engine.backupDir}</code></p>
<div class="actions">
  <form hx-post="${PANEL_PATH}/create" hx-target="#panel-body">
    <label>Format
      <select name="format">${engine.formats.map((format) => html`<option value="${format}"${format === engine.defaultFormat ? html` selected` : null}>${format}</option>`)}</select>
    </label>
    <button class="btn" type="submit"${disabled}>Create backup</button>
  </form>
  <form hx-post="${PANEL_PATH}/prune" hx-target="#panel-body">
    <input type="hidden" name="dryRun" value="true">
    <button class="btn btn-quiet" type="submit">Preview prune</button>
  </form>
  <form hx-post="${PANEL_PATH}/prune" hx-target="#panel-body" hx-confirm="Delete the backups outside the retention policy?">
    <input type="hidden" name="dryRun" value="false">
    <button class="btn btn-quiet" type="submit"${disabled}>Prune</button>
  </form>
</div>
${entries.length ? html`<table class="data">
  <thead><tr><th>Name</th><th>Format</th><th>Size</th><th>Age</th><th>Verified</th><th></th></tr></thead>
  <tbody>
${rows}
  </tbody>
</table>` : html`<p class="muted">No backups yet.</p>`}
</div>`;
}

export function panelRoutes(engine: BackupEngine, jobs: BackupJobs, thresholds: FreshnessThresholds): ServerRoute[] {

    const fragment = (flash: Flash) => renderPanel(engine, jobs, flash, thresholds).then(String);
    const attempt = async (work: () => Promise<string> | string): Promise<string> => {

        try {
            return await fragment({ kind: 'success', text: await work() });
        }
        catch (error) {
            if (error instanceof BackupError) {
                return await fragment({ kind: 'error', text: error.message });
            }

            throw error;
        }
    };

    // Form validation errors re-render the panel with the message instead of a bare 400.
    const form = (payload: Joi.ObjectSchema) => ({
        payload,
        failAction: async (_request: Request, h: any, error: Error | undefined) => h.response(await fragment({ kind: 'error', text: error?.message ?? 'Invalid form' })).code(400).takeover()
    });

    const options = (validate?: object) => ({ auth: ADMIN_STRATEGY, ...(validate ? { validate } : {}) });

    return [
        {
            method: 'GET',
            path: PANEL_PATH,
            options: options(),
            handler: () => fragment(null)
        },
        {
            method: 'POST',
            path: `${PANEL_PATH}/create`,
            options: options(form(Joi.object({ format: Joi.string().valid(...engine.formats).required() }))),
            handler: (request) => attempt(async () => {

                const { format } = request.payload as { format: any };
                await jobs.start('create', format, ({ job, ...run }) => engine.create({ format, unique: uniquePart(job), ...run }));
                return `Backup (${format}) started`;
            })
        },
        {
            method: 'POST',
            path: `${PANEL_PATH}/verify`,
            options: options(form(Joi.object({ name: BACKUP_NAME }))),
            handler: (request) => attempt(async () => {

                const entry = await engine.find((request.payload as { name: string }).name);
                await jobs.start('verify', entry.name, ({ job: _job, ...run }) => engine.verify(entry.name, run));
                return `Verifying ${entry.name}`;
            })
        },
        {
            method: 'POST',
            path: `${PANEL_PATH}/restore`,
            options: options(form(Joi.object({
                name: BACKUP_NAME,
                confirm: Joi.string().allow('').required(),
                tables: Joi.string().allow('').max(2000)
            }))),
            handler: (request) => attempt(async () => {

                const { name, confirm, tables: text } = request.payload as { name: string; confirm: string; tables?: string };
                if (confirm.trim() !== engine.confirmationName) {
                    throw new BackupError('invalid', `Not restored: type the database name "${engine.confirmationName}" to confirm`);
                }

                const list = (text ?? '').split(/[\s,]+/).filter(Boolean);
                const invalid = list.filter((table) => TABLE_NAME.validate(table).error);
                if (invalid.length) {
                    throw new BackupError('invalid', `Not restored: ${invalid.join(', ')} is not a table name`);
                }

                const tables = list.length ? list : undefined;
                const entry = await engine.checkRestore(name, tables);
                await jobs.start('restore', entry.name, ({ job: _job, ...run }) => engine.restore(entry.name, { tables, ...run }));
                return tables ? `Restoring ${tables.join(', ')} from ${entry.name}` : `Restoring the whole database from ${entry.name}`;
            })
        },
        {
            method: 'POST',
            path: `${PANEL_PATH}/prune`,
            options: options(form(Joi.object({ dryRun: Joi.boolean().default(false) }))),
            handler: (request) => attempt(async () => {

                const { dryRun } = request.payload as { dryRun: boolean };
                if (!dryRun) {
                    await refuseWhileRunning(jobs);
                }

                const report = await engine.prune({ dryRun });
                const verb = report.dryRun ? 'Would delete' : 'Deleted';
                return report.remove.length ? `${verb} ${report.remove.length}: ${report.remove.join(', ')}; keeping ${report.keep.length}` : `Nothing to prune; keeping ${report.keep.length}`;
            })
        }
    ];
}
