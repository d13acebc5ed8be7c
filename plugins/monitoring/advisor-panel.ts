// The console's "Advisor" panel: what the database advisor found, each figure
// with one line saying what it means, and buttons for the actions (each asks
// for confirmation; the shell adds the CSRF header to htmx posts).

import { formatBytes, formatDuration, formatMilliseconds, formatNumber, formatPercent, formatTimestamp } from '../../server/console/format';
import { alert, badge, facts } from '../../server/console/fragments';
import type { ConsolePanel } from '../../server/console/panel';
import { html, type Html } from '../../server/html';
import type { AdvisorReport } from './advisor';
import type { IndexAdvice, MaintenanceReport, QueryStatsReport, SessionInfo, SessionsReport } from './dialects/postgres-advisor';
import type { CheckpointResult, IntegrityState } from './dialects/sqlite-advisor';

export const ADVISOR_PANEL: ConsolePanel = { id: 'advisor', title: 'Advisor', order: 25, path: '/console/panels/advisor', refreshSeconds: 15 };
export const ADVISOR_ACTION_PATH = `${ADVISOR_PANEL.path}/action`;

export interface Flash {
    kind: 'success' | 'error';
    text: string;
}

function actionButton(label: string, fields: Record<string, string | number>, question: string, tone: 'btn-danger' | 'btn-quiet' = 'btn-quiet'): Html {

    return html`<form class="inline" hx-post="${ADVISOR_ACTION_PATH}" hx-target="#panel-body" hx-confirm="${question}">
${Object.entries(fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<input type="hidden" name="confirm" value="yes">
<button type="submit" class="btn btn-small ${tone}">${label}</button></form>`;
}

function queryStatsSection(stats: QueryStatsReport): Html {

    if (stats.state !== 'ready') {
        return html`<h3>Query statistics</h3>
${alert('info', html`pg_stat_statements is not available, so statements are not ranked by time. ${stats.hint}`)}`;
    }

    return html`<h3>Query statistics</h3>
<p class="muted">The statements that took the most database time since ${stats.reset_at ? formatTimestamp(stats.reset_at) : 'the last reset'} (pg_stat_statements; values appear as $n).</p>
${stats.statements.length ? html`<table class="data">
<thead><tr><th>Statement</th><th>Calls</th><th>Total</th><th>Mean</th><th>Rows</th><th>Share of time</th></tr></thead>
<tbody>${stats.statements.map((row) => html`<tr><td><code>${row.query.slice(0, 400)}</code></td><td class="num">${formatNumber(row.calls)}</td><td class="num">${formatMilliseconds(row.total_ms)}</td><td class="num">${formatMilliseconds(row.mean_ms)}</td><td class="num">${formatNumber(row.rows)}</td><td class="num">${formatPercent(row.share)}</td></tr>`)}</tbody>
</table>` : html`<p class="muted">No statements recorded yet.</p>`}
<div class="actions">${actionButton('Reset query statistics', { action: 'reset-query-stats' }, 'Reset the query statistics of this database?', 'btn-danger')}</div>`;
}

function indexSection(advice: IndexAdvice): Html {

    const list = (title: string, help: string, rows: Array<{ table: string; index: string; size_bytes: number; definition: string; covered_by?: string }>) => html`<h4>${title} (${rows.length})</h4>
<p class="muted">${help}</p>
${rows.length ? html`<table class="data"><thead><tr><th>Table</th><th>Index</th><th>Size</th><th>Definition</th></tr></thead>
<tbody>${rows.map((row) => html`<tr><td>${row.table}</td><td>${row.index}${row.covered_by ? html` <span class="muted">covered by ${row.covered_by}</span>` : ''}</td><td class="num">${formatBytes(row.size_bytes)}</td><td><code>${row.definition}</code></td></tr>`)}</tbody></table>` : html`<p class="muted">None.</p>`}`;

    return html`<h3>Indexes</h3>
${list('Unused', `Never scanned since the statistics were reset (${advice.stats_reset_at ? formatTimestamp(advice.stats_reset_at) : 'never reset'}); they cost writes and space. Primary keys, unique and constraint indexes are not listed.`, advice.unused)}
${list('Duplicate or overlapping', 'Another index on the same table has the same leading columns, so this one is redundant.', advice.duplicates)}
${list('Invalid', 'A failed CREATE INDEX CONCURRENTLY left these behind: the planner ignores them but writes still maintain them. Drop and recreate.', advice.invalid)}
<h4>Tables read mostly by sequential scans (${advice.seq_scan_tables.length})</h4>
<p class="muted">Large tables read by whole-table scans more often than through an index.</p>
${advice.seq_scan_tables.length ? html`<table class="data"><thead><tr><th>Table</th><th>Rows</th><th>Sequential scans</th><th>Rows read by them</th><th>Index scans</th></tr></thead>
<tbody>${advice.seq_scan_tables.map((row) => html`<tr><td>${row.table}</td><td class="num">${formatNumber(row.rows)}</td><td class="num">${formatNumber(row.seq_scans)}</td><td class="num">${formatNumber(row.seq_rows_read)}</td><td class="num">${formatNumber(row.index_scans)}</td></tr>`)}</tbody></table>` : html`<p class="muted">None.</p>`}
<h4>Suggested indexes (${advice.suggestions.length})</h4>
${advice.hypopg ? html`<p class="muted">Checked with hypothetical indexes (hypopg): the planner's cost of the statement without and with the index.</p>` : alert('info', html`Suggestions are unverified. ${advice.hypopg_hint}`)}
${advice.suggestions.length ? html`<table class="data"><thead><tr><th>Index</th><th>For statement</th><th>Cost before → after</th></tr></thead>
<tbody>${advice.suggestions.map((row) => html`<tr><td><code>${row.definition}</code></td><td><code>${row.query.slice(0, 300)}</code></td><td class="num">${row.verified ? `${formatNumber(Math.round(row.cost_before!))} → ${formatNumber(Math.round(row.cost_after!))}` : badge('unverified', 'muted')}</td></tr>`)}</tbody></table>` : html`<p class="muted">None.</p>`}`;
}

function maintenanceSection(report: MaintenanceReport): Html {

    const last = (a: string | null, b: string | null) => {

        const newest = [a, b].filter(Boolean).sort().pop();
        return newest ? formatTimestamp(newest) : 'never';
    };

    return html`<h3>Maintenance</h3>
<p class="muted">Dead rows are old row versions a vacuum has not reclaimed yet; the bloat figure estimates their space. The frozen-XID age counts transactions since the table was last frozen: PostgreSQL must freeze before 2,147 million.</p>
<table class="data"><thead><tr><th>Table</th><th>Live rows</th><th>Dead rows</th><th>Bloat (estimate)</th><th>Last vacuum</th><th>Last analyze</th><th>Frozen-XID age</th><th></th></tr></thead>
<tbody>${report.tables.map((row) => html`<tr><td>${row.table}</td><td class="num">${formatNumber(row.live_rows)}</td><td class="num">${formatNumber(row.dead_rows)} ${row.dead_ratio > 0.2 ? badge(formatPercent(row.dead_ratio), 'warn') : ''}</td><td class="num">${formatBytes(row.bloat_estimate_bytes)}</td><td>${last(row.last_vacuum, row.last_autovacuum)}</td><td>${last(row.last_analyze, row.last_autoanalyze)}</td><td class="num">${formatNumber(row.frozen_xid_age)}</td><td>${actionButton('Analyze', { action: 'analyze', table: row.table }, `Run ANALYZE on ${row.table}?`)}</td></tr>`)}</tbody></table>
<h4>Transaction-ID wraparound</h4>
<table class="data"><thead><tr><th>Database</th><th>Age</th><th>Of the horizon</th></tr></thead>
<tbody>${report.wraparound.map((row) => html`<tr><td>${row.database}</td><td class="num">${formatNumber(row.age)}</td><td class="num">${formatPercent(row.horizon_used, 2)} ${row.warn ? badge(`over ${formatNumber(report.wraparound_warn_age)}`, 'error') : badge('ok', 'ok')}</td></tr>`)}</tbody></table>`;
}

function sessionRows(rows: readonly SessionInfo[], withActions: boolean): Html {

    return rows.length ? html`<table class="data"><thead><tr><th>PID</th><th>Application / route</th><th>State</th><th>Query time</th><th>Transaction time</th><th>Waiting on</th><th>Blocked by</th><th>Statement</th>${withActions ? html`<th></th>` : ''}</tr></thead>
<tbody>${rows.map((row) => html`<tr><td class="num">${row.pid}</td><td>${row.application_name || '—'} ${row.ours ? badge('this app', 'ok') : ''}${row.route ? html`<br><code>${row.route}</code>` : ''}</td><td>${row.state ?? '—'}</td><td class="num">${formatDuration(row.duration_s)}</td><td class="num">${formatDuration(row.transaction_s)}</td><td>${row.wait_event ?? '—'}</td><td>${row.blocked_by.join(', ') || '—'}</td><td><code>${row.query.slice(0, 300)}</code></td>${withActions ? html`<td>${actionButton('Cancel', { action: 'cancel', pid: row.pid }, `Cancel the running query of backend ${row.pid}?`)} ${actionButton('Terminate', { action: 'terminate', pid: row.pid }, `Terminate backend ${row.pid}? Its open transaction is rolled back.`, 'btn-danger')}</td>` : ''}</tr>`)}</tbody></table>` : html`<p class="muted">None.</p>`;
}

function sessionsSection(report: SessionsReport): Html {

    return html`<h3>Sessions</h3>
<h4>Blocked (${report.blocked.length})</h4>
<p class="muted">Waiting for a lock another session holds; the blockers are listed below.</p>
${sessionRows(report.blocked, true)}
<h4>Blocking others (${report.blockers.length})</h4>
${sessionRows(report.blockers, true)}
<h4>Idle in transaction (${report.idle_in_transaction.length})</h4>
<p class="muted">Sessions that opened a transaction and stopped talking: they hold locks and keep vacuum from cleaning up.</p>
${sessionRows(report.idle_in_transaction, true)}
<h4>Running over ${formatDuration(report.long_running_threshold_s)} (${report.long_running.length})</h4>
${sessionRows(report.long_running, true)}`;
}

function sqliteSections(section: Record<string, any>): Html {

    const wal = section.wal as { journal_mode: string; size_bytes: number; checkpoint_threshold_bytes: number; over_threshold: boolean; last_checkpoint: CheckpointResult | null };
    const free = section.freelist as { free_pages: number; page_count: number; ratio: number; reclaimable_bytes: number; hint: string | null };
    const integrity = section.integrity as IntegrityState;
    const checkpoint = wal.last_checkpoint;
    return html`<h3>Write-ahead log</h3>
<p class="muted">Writes go to the WAL first; a checkpoint copies them into the database file once the WAL passes the threshold.</p>
${facts([
        ['Journal mode', wal.journal_mode],
        ['WAL size / checkpoint threshold', html`${formatBytes(wal.size_bytes)} / ${formatBytes(wal.checkpoint_threshold_bytes)} ${wal.over_threshold ? badge('over the threshold: a reader may be holding the checkpoint back', 'warn') : ''}`],
        ['Last checkpoint from here', checkpoint ? `${formatTimestamp(checkpoint.at)}: ${checkpoint.checkpointed_frames} of ${checkpoint.log_frames} frames${checkpoint.busy ? ' (busy, incomplete)' : ''}` : 'none yet']
    ])}
<div class="actions">${actionButton('Checkpoint now', { action: 'checkpoint' }, 'Run a passive WAL checkpoint now?')}</div>
<h3>Free pages</h3>
${facts([
        ['Free pages', `${formatNumber(free.free_pages)} of ${formatNumber(free.page_count)} (${formatPercent(free.ratio)})`],
        ['Reclaimable by VACUUM', formatBytes(free.reclaimable_bytes)]
    ])}
${free.hint ? alert('info', free.hint) : ''}
<h3>Integrity</h3>
<p class="muted">quick_check verifies the file's structure; integrity_check also checks every index against its table (slower).</p>
${facts([
        ['Last check', integrity.state === 'never' ? 'never run' : html`${integrity.mode} check ${integrity.state === 'running' ? badge('running', 'warn') : integrity.state === 'ok' ? badge('ok', 'ok') : badge(integrity.state, 'error')} <span class="muted">job ${integrity.job_id ?? '—'}</span>`],
        ['Started / finished', `${integrity.started_at ? formatTimestamp(integrity.started_at) : '—'} / ${integrity.finished_at ? formatTimestamp(integrity.finished_at) : '—'}`]
    ])}
${integrity.error ? alert('error', integrity.error) : ''}
${integrity.problems.length ? html`<pre class="output">${integrity.problems.join('\n')}</pre>` : ''}
<div class="actions">${actionButton('Run quick check', { action: 'integrity-check', mode: 'quick' }, 'Run PRAGMA quick_check now?')} ${actionButton('Run full integrity check', { action: 'integrity-check', mode: 'full' }, 'Run PRAGMA integrity_check now? It reads the whole file.')}</div>`;
}

export function renderAdvisorPanel(report: AdvisorReport, flash: Flash | null = null): Html {

    const pg = report.postgres as { query_stats: QueryStatsReport; indexes: IndexAdvice; maintenance: MaintenanceReport; sessions: SessionsReport } | undefined;
    return html`${flash ? alert(flash.kind, flash.text) : ''}
<p class="muted">Sampled ${formatTimestamp(report.sampled_at)} (kept for a few seconds).</p>
${pg ? html`${sessionsSection(pg.sessions)}${queryStatsSection(pg.query_stats)}${indexSection(pg.indexes)}${maintenanceSection(pg.maintenance)}` : ''}
${report.sqlite ? sqliteSections(report.sqlite) : ''}`;
}
