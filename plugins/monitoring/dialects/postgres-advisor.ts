// PostgreSQL advice in the spirit of PgHero: query statistics from
// pg_stat_statements, index advice (unused, duplicate, invalid, tables read by
// sequential scans, hypothetical indexes checked with hypopg), maintenance
// (dead tuples, vacuum/analyze times, bloat estimate, wraparound age) and the
// sessions worth a look (long running, idle in transaction, blocked and their
// blockers). Everything reads the statistics views of the current database;
// nothing here outlives its transaction (PgBouncer in transaction mode).

import type { Knex } from 'knex';

import { ROUTE_COMMENT, routeFromQuery } from '../route-comments';
import { AdvisorError, type AdvisorAction, type AdvisorContext, type DatabaseAdvisorProbe } from './advisor-types';

/** Where pg_stat_statements stands on this server. */
export type ExtensionState = 'ready' | 'not-loaded' | 'not-created';

export const PG_STAT_STATEMENTS_HINT = {
    'not-loaded': 'Add pg_stat_statements to shared_preload_libraries in postgresql.conf '
        + "(shared_preload_libraries = 'pg_stat_statements'), restart PostgreSQL, then run "
        + 'CREATE EXTENSION pg_stat_statements; in this database.',
    'not-created': 'The library is loaded; run CREATE EXTENSION pg_stat_statements; in this database '
        + '(as a superuser or the database owner).'
} as const;

export const HYPOPG_HINT = 'Install hypopg (Debian: apt-get install postgresql-15-hypopg) and run '
    + 'CREATE EXTENSION hypopg; in this database to check suggested indexes against the planner.';

export interface StatementStats {
    queryid: string;
    /** Normalised text: constants are replaced by $n by pg_stat_statements itself. */
    query: string;
    calls: number;
    total_ms: number;
    mean_ms: number;
    rows: number;
    /** Share of all statement time in this database. */
    share: number;
}

export interface QueryStatsReport {
    state: ExtensionState;
    /** How to enable the extension when it is not ready. */
    hint?: string;
    statements: StatementStats[];
    /** When the statistics were last reset, if known. */
    reset_at: string | null;
}

async function extensionInstalled(knex: Knex, name: string): Promise<boolean> {

    const { rows } = await knex.raw('SELECT 1 FROM pg_extension WHERE extname = ?', [name]);
    return rows.length > 0;
}

export async function pgStatStatementsState(knex: Knex): Promise<ExtensionState> {

    const { rows: [row] } = await knex.raw(`SELECT 'pg_stat_statements' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')) AS loaded`);
    if (!row.loaded) {
        return 'not-loaded';
    }

    return await extensionInstalled(knex, 'pg_stat_statements') ? 'ready' : 'not-created';
}

const STATEMENTS_SQL = `
    WITH s AS (
        SELECT s.queryid, s.query, s.calls, s.total_exec_time, s.rows
          FROM pg_stat_statements s
         WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND s.query NOT ILIKE '%pg_stat_statements%'
    )
    SELECT queryid::text, query, calls, total_exec_time, rows,
           total_exec_time / nullif(sum(total_exec_time) OVER (), 0) AS share
      FROM s
     ORDER BY total_exec_time DESC
     LIMIT ?`;

export async function queryStats(knex: Knex, limit = 20): Promise<QueryStatsReport> {

    const state = await pgStatStatementsState(knex);
    if (state !== 'ready') {
        return { state, hint: PG_STAT_STATEMENTS_HINT[state], statements: [], reset_at: null };
    }

    const { rows } = await knex.raw(STATEMENTS_SQL, [limit]);
    const info = await knex.raw('SELECT stats_reset FROM pg_stat_statements_info').catch(() => ({ rows: [] }));
    return {
        state,
        statements: rows.map((row: Record<string, unknown>): StatementStats => ({
            queryid: String(row.queryid),
            query: String(row.query),
            calls: Number(row.calls),
            total_ms: round(Number(row.total_exec_time)),
            mean_ms: round(Number(row.total_exec_time) / Math.max(1, Number(row.calls))),
            rows: Number(row.rows),
            share: round(Number(row.share ?? 0), 4)
        })),
        reset_at: info.rows[0]?.stats_reset ? new Date(info.rows[0].stats_reset).toISOString() : null
    };
}

/** Resets pg_stat_statements for this database; false when the extension is not ready. */
export async function resetQueryStats(knex: Knex): Promise<boolean> {

    if (await pgStatStatementsState(knex) !== 'ready') {
        return false;
    }

    await knex.raw('SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)');
    return true;
}

export interface IndexFinding {
    table: string;
    index: string;
    size_bytes: number;
    definition: string;
}

export interface DuplicateIndex extends IndexFinding {
    /** The index that makes this one redundant. */
    covered_by: string;
    /** identical: same columns and options; prefix: its columns lead the other index. */
    kind: 'identical' | 'prefix';
}

export interface SeqScanTable {
    table: string;
    rows: number;
    seq_scans: number;
    seq_rows_read: number;
    index_scans: number;
}

export interface SuggestedIndex {
    table: string;
    columns: string[];
    definition: string;
    /** The statement the suggestion comes from (normalised text). */
    query: string;
    /** Planner cost before and with the hypothetical index; null when not checked. */
    cost_before: number | null;
    cost_after: number | null;
    verified: boolean;
}

export interface IndexAdvice {
    stats_reset_at: string | null;
    unused: IndexFinding[];
    duplicates: DuplicateIndex[];
    invalid: IndexFinding[];
    seq_scan_tables: SeqScanTable[];
    suggestions: SuggestedIndex[];
    hypopg: boolean;
    hypopg_hint?: string;
}

// Unused: never scanned since the statistics reset, and nothing depends on it
// (primary keys, unique indexes and indexes backing a constraint stay).
const UNUSED_SQL = `
    SELECT s.relname AS table, s.indexrelname AS index, pg_relation_size(s.indexrelid) AS size_bytes,
           pg_get_indexdef(s.indexrelid) AS definition
      FROM pg_stat_user_indexes s
      JOIN pg_index i ON i.indexrelid = s.indexrelid
     WHERE s.schemaname = current_schema() AND s.idx_scan = 0
       AND NOT i.indisprimary AND NOT i.indisunique
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)
     ORDER BY pg_relation_size(s.indexrelid) DESC, s.indexrelname`;

// Pairs of b-tree (or same-method) indexes on one table where the first one's
// key columns are the second's, or lead them; predicates and expressions must
// match. The shorter one is redundant unless it is unique or backs a constraint.
const DUPLICATES_SQL = `
    WITH idx AS (
        -- Slices keep arrays 1-based (int2vector/oidvector cast to arrays start at 0).
        SELECT i.indexrelid, i.indrelid, (i.indkey::int2[])[0:] AS keys, (i.indclass::oid[])[0:] AS classes,
               i.indisunique, i.indisprimary, c.relam,
               coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS pred,
               coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS exprs
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indexrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND i.indisvalid
    )
    SELECT t.relname AS table, a_c.relname AS index, b_c.relname AS covered_by,
           pg_relation_size(a.indexrelid) AS size_bytes, pg_get_indexdef(a.indexrelid) AS definition,
           CASE WHEN a.keys = b.keys AND a.classes = b.classes THEN 'identical' ELSE 'prefix' END AS kind
      FROM idx a
      JOIN idx b ON a.indrelid = b.indrelid AND a.indexrelid <> b.indexrelid
                AND a.relam = b.relam AND a.pred = b.pred AND a.exprs = b.exprs
                AND cardinality(a.keys) <= cardinality(b.keys)
                AND b.keys[1:cardinality(a.keys)] = a.keys
                AND b.classes[1:cardinality(a.keys)] = a.classes
      JOIN pg_class t ON t.oid = a.indrelid
      JOIN pg_class a_c ON a_c.oid = a.indexrelid
      JOIN pg_class b_c ON b_c.oid = b.indexrelid
     WHERE NOT a.indisprimary
       AND NOT (a.indisunique AND cardinality(a.keys) < cardinality(b.keys))
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = a.indexrelid)
       -- Of two identical indexes, report one (the later name), not both.
       AND NOT (a.keys = b.keys AND a.classes = b.classes AND a_c.relname < b_c.relname
                AND NOT b.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = b.indexrelid))
     ORDER BY t.relname, a_c.relname`;

const INVALID_SQL = `
    SELECT t.relname AS table, c.relname AS index, pg_relation_size(i.indexrelid) AS size_bytes,
           pg_get_indexdef(i.indexrelid) AS definition
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_class t ON t.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema() AND NOT i.indisvalid
     ORDER BY t.relname, c.relname`;

// Tables worth an index: big enough that a sequential scan costs, read by
// sequential scans more often than by index scans.
export const SEQ_SCAN_MIN_ROWS = 10_000;

const SEQ_SCAN_SQL = `
    SELECT relname AS table, n_live_tup AS rows, seq_scan, seq_tup_read, coalesce(idx_scan, 0) AS idx_scan
      FROM pg_stat_user_tables
     WHERE schemaname = current_schema() AND n_live_tup >= ? AND seq_scan > coalesce(idx_scan, 0)
     ORDER BY seq_tup_read DESC
     LIMIT 20`;

const finding = (row: Record<string, unknown>): IndexFinding => ({
    table: String(row.table),
    index: String(row.index),
    size_bytes: Number(row.size_bytes),
    definition: String(row.definition)
});

export async function indexAdvice(knex: Knex): Promise<IndexAdvice> {

    const [unused, duplicates, invalid, seq, reset] = await Promise.all([
        knex.raw(UNUSED_SQL),
        knex.raw(DUPLICATES_SQL),
        knex.raw(INVALID_SQL),
        knex.raw(SEQ_SCAN_SQL, [SEQ_SCAN_MIN_ROWS]),
        knex.raw('SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()')
    ]);

    const seqTables: SeqScanTable[] = seq.rows.map((row: Record<string, unknown>) => ({
        table: String(row.table),
        rows: Number(row.rows),
        seq_scans: Number(row.seq_scan),
        seq_rows_read: Number(row.seq_tup_read),
        index_scans: Number(row.idx_scan)
    }));

    const hypopg = await extensionInstalled(knex, 'hypopg');
    const suggestions = await suggestIndexes(knex, seqTables.map((table) => table.table), hypopg);

    return {
        stats_reset_at: reset.rows[0]?.stats_reset ? new Date(reset.rows[0].stats_reset).toISOString() : null,
        unused: unused.rows.map(finding),
        duplicates: duplicates.rows.map((row: Record<string, unknown>) => ({ ...finding(row), covered_by: String(row.covered_by), kind: row.kind as DuplicateIndex['kind'] })),
        invalid: invalid.rows.map(finding),
        seq_scan_tables: seqTables,
        suggestions,
        hypopg,
        ...(hypopg ? {} : { hypopg_hint: HYPOPG_HINT })
    };
}

interface Candidate {
    table: string;
    columns: string[];
    query: string;
}

const IDENT = String.raw`"?([a-z_][a-z0-9_]*)"?`;

/**
 * Columns compared with a parameter in the WHERE clause of a statement that
 * reads one of the given tables, e.g. `WHERE "owner_id" = $1 AND type = $2`
 * → (owner_id, type). A heuristic like PgHero's: it reads the normalised text,
 * it does not parse SQL, and the planner check below is what decides.
 */
export function candidateFromQuery(query: string, tables: readonly string[]): Candidate | null {

    const from = new RegExp(String.raw`\bfrom\s+${IDENT}(?:\s|$|;)`, 'i').exec(query);
    const table = from?.[1]?.toLowerCase();
    if (!table || !tables.includes(table) || /\bjoin\b/i.test(query)) {
        return null;
    }

    const where = /\bwhere\b([\s\S]*?)(?:\border\s+by\b|\bgroup\s+by\b|\blimit\b|\breturning\b|$)/i.exec(query)?.[1];
    if (!where) {
        return null;
    }

    const columns: string[] = [];
    const compare = new RegExp(String.raw`(?:${IDENT}\.)?${IDENT}\s*(?:=|<|>|<=|>=)\s*\$\d+`, 'gi');
    for (const match of where.matchAll(compare)) {
        const column = match[2]!.toLowerCase();
        if (!columns.includes(column)) {
            columns.push(column);
        }
    }

    return columns.length ? { table, columns: columns.slice(0, 3), query } : null;
}

// Parameters typed by the planner from context; a generic plan so that the
// hypothetical index is judged for any value, as pg_stat_statements' text has
// no values (PostgreSQL 15 has no EXPLAIN (GENERIC_PLAN)).
async function planCost(trx: Knex.Transaction, query: string): Promise<number | null> {

    const params = new Set([...query.matchAll(/\$(\d+)/g)].map((match) => Number(match[1])));
    const count = params.size ? Math.max(...params) : 0;
    // A prepared statement outlives a rollback, so it is deallocated in every
    // case, inside the same transaction (the same server connection, also
    // through a transaction-mode pooler): a failing EXPLAIN is rolled back to
    // a savepoint first, so the DEALLOCATE can still run.
    await trx.raw(`PREPARE na_advisor_candidate AS ${query}`);
    await trx.raw('SAVEPOINT na_advisor_explain');
    try {
        const args = count ? `(${Array.from({ length: count }, () => 'NULL').join(', ')})` : '';
        const { rows: [row] } = await trx.raw(`EXPLAIN (FORMAT JSON) EXECUTE na_advisor_candidate${args}`);
        const plan = (row['QUERY PLAN'] as Array<{ Plan: { 'Total Cost': number } }>)[0]!.Plan;
        await trx.raw('RELEASE SAVEPOINT na_advisor_explain');
        return plan['Total Cost'];
    }
    catch (error) {
        await trx.raw('ROLLBACK TO SAVEPOINT na_advisor_explain');
        throw error;
    }
    finally {
        await trx.raw('DEALLOCATE na_advisor_candidate');
    }
}

async function suggestIndexes(knex: Knex, tables: readonly string[], hypopg: boolean): Promise<SuggestedIndex[]> {

    if (!tables.length || await pgStatStatementsState(knex) !== 'ready') {
        return [];
    }

    const { rows } = await knex.raw(STATEMENTS_SQL, [50]);
    const seen = new Set<string>();
    const candidates: Candidate[] = [];
    for (const row of rows as Array<{ query: string }>) {
        const candidate = candidateFromQuery(row.query, tables);
        const key = candidate && `${candidate.table}(${candidate.columns.join(',')})`;
        if (candidate && key && !seen.has(key) && /^\s*select\b/i.test(candidate.query)) {
            seen.add(key);
            candidates.push(candidate);
        }
    }

    const suggestions: SuggestedIndex[] = [];
    for (const candidate of candidates.slice(0, 10)) {
        const definition = `CREATE INDEX ON ${quoteIdent(candidate.table)} (${candidate.columns.map(quoteIdent).join(', ')})`;
        const suggestion: SuggestedIndex = { ...candidate, definition, cost_before: null, cost_after: null, verified: false };
        if (hypopg) {
            // One transaction: the prepared statement and the hypothetical
            // index live on this connection only until it ends (PgBouncer-safe).
            await knex.transaction(async (trx) => {

                await trx.raw("SET LOCAL plan_cache_mode = 'force_generic_plan'");
                try {
                    suggestion.cost_before = await planCost(trx, candidate.query);
                    await trx.raw('SELECT * FROM hypopg_create_index(?)', [definition]);
                    suggestion.cost_after = await planCost(trx, candidate.query);
                    suggestion.verified = true;
                }
                catch {
                    // A statement the planner cannot prepare alone (unknown
                    // parameter types, …) stays an unverified suggestion.
                    suggestion.cost_before = suggestion.cost_after = null;
                }
                finally {
                    await trx.raw('SELECT hypopg_reset()').catch(() => {});
                }
            }).catch(() => {});
        }

        if (!suggestion.verified || (suggestion.cost_after! < suggestion.cost_before!)) {
            suggestions.push(suggestion);
        }
    }

    return suggestions;
}

function quoteIdent(name: string): string {

    return `"${name.replace(/"/g, '""')}"`;
}

function round(value: number, digits = 3): number {

    const scale = 10 ** digits;
    return Math.round(value * scale) / scale;
}

export interface TableMaintenance {
    table: string;
    live_rows: number;
    dead_rows: number;
    /** Dead rows / (live + dead). */
    dead_ratio: number;
    size_bytes: number;
    /** Estimated reclaimable bytes (size × dead share); VACUUM makes it reusable. */
    bloat_estimate_bytes: number;
    last_vacuum: string | null;
    last_autovacuum: string | null;
    last_analyze: string | null;
    last_autoanalyze: string | null;
    frozen_xid_age: number;
}

export interface WraparoundAge {
    database: string;
    age: number;
    /** Share of the 2^31 transaction-ID horizon used. */
    horizon_used: number;
    warn: boolean;
}

export interface MaintenanceReport {
    tables: TableMaintenance[];
    wraparound: WraparoundAge[];
    /** The age at which wraparound ages are flagged. */
    wraparound_warn_age: number;
    autovacuum_freeze_max_age: number;
}

// PostgreSQL stops accepting writes ~3 million transactions before 2^31; an
// age above half of it means anti-wraparound vacuums are not keeping up
// (autovacuum normally freezes at autovacuum_freeze_max_age, 200 million).
export const WRAPAROUND_HORIZON = 2 ** 31;
export const WRAPAROUND_WARN_AGE = WRAPAROUND_HORIZON / 2;

const TABLES_SQL = `
    SELECT s.relname AS table, s.n_live_tup, s.n_dead_tup, pg_table_size(s.relid) AS size_bytes,
           s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
           age(c.relfrozenxid) AS frozen_age
      FROM pg_stat_user_tables s
      JOIN pg_class c ON c.oid = s.relid
     WHERE s.schemaname = current_schema()
     ORDER BY s.n_dead_tup DESC, s.relname`;

const iso = (value: unknown) => (value ? new Date(value as string).toISOString() : null);

export async function maintenance(knex: Knex): Promise<MaintenanceReport> {

    const [tables, databases, freeze] = await Promise.all([
        knex.raw(TABLES_SQL),
        knex.raw('SELECT datname, age(datfrozenxid) AS age FROM pg_database WHERE datallowconn ORDER BY age(datfrozenxid) DESC'),
        knex.raw("SELECT current_setting('autovacuum_freeze_max_age')::bigint AS v")
    ]);

    return {
        tables: tables.rows.map((row: Record<string, unknown>): TableMaintenance => {

            const live = Number(row.n_live_tup);
            const dead = Number(row.n_dead_tup);
            const ratio = live + dead ? dead / (live + dead) : 0;
            const size = Number(row.size_bytes);
            return {
                table: String(row.table),
                live_rows: live,
                dead_rows: dead,
                dead_ratio: round(ratio, 4),
                size_bytes: size,
                bloat_estimate_bytes: Math.round(size * ratio),
                last_vacuum: iso(row.last_vacuum),
                last_autovacuum: iso(row.last_autovacuum),
                last_analyze: iso(row.last_analyze),
                last_autoanalyze: iso(row.last_autoanalyze),
                frozen_xid_age: Number(row.frozen_age)
            };
        }),
        wraparound: databases.rows.map((row: { datname: string; age: number | string }): WraparoundAge => ({
            database: row.datname,
            age: Number(row.age),
            horizon_used: round(Number(row.age) / WRAPAROUND_HORIZON, 6),
            warn: Number(row.age) >= WRAPAROUND_WARN_AGE
        })),
        wraparound_warn_age: WRAPAROUND_WARN_AGE,
        autovacuum_freeze_max_age: Number(freeze.rows[0].v)
    };
}

export interface SessionInfo {
    pid: number;
    application_name: string;
    /** True for this application's own connections. */
    ours: boolean;
    /** The app route whose request ran the session's last statement (ours only, from its route comment). */
    route: string | null;
    state: string | null;
    /** Seconds since the current query (or the transaction, when idle in one) started. */
    duration_s: number | null;
    transaction_s: number | null;
    wait_event: string | null;
    /** The statement text with literals masked: never another session's values. */
    query: string;
    blocked_by: number[];
}

export interface SessionsReport {
    long_running: SessionInfo[];
    idle_in_transaction: SessionInfo[];
    blocked: SessionInfo[];
    /** Sessions that block others, with whom they block. */
    blockers: SessionInfo[];
    long_running_threshold_s: number;
}

export const LONG_RUNNING_S = 60;

const SESSIONS_SQL = `
    SELECT a.pid, coalesce(a.application_name, '') AS application_name, a.state,
           extract(epoch FROM now() - a.query_start)::float8 AS duration_s,
           extract(epoch FROM now() - a.xact_start)::float8 AS transaction_s,
           CASE WHEN a.wait_event IS NULL THEN NULL ELSE a.wait_event_type || ':' || a.wait_event END AS wait_event,
           a.query, pg_blocking_pids(a.pid) AS blocked_by
      FROM pg_stat_activity a
     WHERE a.datname = current_database() AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()`;

/**
 * Masks the values a statement carries inline: quoted strings, numbers,
 * dollar-quoted bodies. Extended-protocol statements (every knex query with
 * bindings) show $n placeholders already; this covers the simple protocol.
 */
export function maskLiterals(sql: string): string {

    return sql
        .replace(/\$([a-z_]*)\$[\s\S]*?\$\1\$/gi, '?')
        .replace(/E'(?:[^'\\]|\\.|'')*'/gi, '?')
        .replace(/(?:U&)?'(?:[^']|'')*'/gi, '?')
        .replace(/(?<![\w$."])-?\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, '?');
}

export async function sessions(knex: Knex, applicationName: string, longRunningS = LONG_RUNNING_S): Promise<SessionsReport> {

    const { rows } = await knex.raw(SESSIONS_SQL);
    const all: SessionInfo[] = rows.map((row: Record<string, unknown>): SessionInfo => {

        const ours = String(row.application_name).startsWith(applicationName);
        const query = String(row.query ?? '');
        // Only our own sessions' comments are believed; the comment is shown as the route, not in the text.
        const route = ours ? routeFromQuery(query) : null;
        return {
            pid: Number(row.pid),
            application_name: String(row.application_name),
            ours,
            route,
            state: (row.state as string | null) ?? null,
            duration_s: row.duration_s === null ? null : round(Number(row.duration_s)),
            transaction_s: row.transaction_s === null ? null : round(Number(row.transaction_s)),
            wait_event: (row.wait_event as string | null) ?? null,
            query: maskLiterals(route === null ? query : query.replace(ROUTE_COMMENT, '')).slice(0, 2000),
            blocked_by: (row.blocked_by as number[]).map(Number)
        };
    });

    const blocked = all.filter((session) => session.blocked_by.length);
    const blockerPids = new Set(blocked.flatMap((session) => session.blocked_by));
    return {
        long_running: all.filter((session) => session.state === 'active' && (session.duration_s ?? 0) >= longRunningS),
        idle_in_transaction: all.filter((session) => session.state?.startsWith('idle in transaction')),
        blocked,
        blockers: all.filter((session) => blockerPids.has(session.pid)),
        long_running_threshold_s: longRunningS
    };
}

export type BackendAction = 'cancel' | 'terminate';

/**
 * Cancels the query of, or ends, a client backend of this database. Refuses
 * other databases, non-client backends and the caller's own connection.
 * Returns false when no such backend exists (any more).
 */
export async function signalBackend(knex: Knex, pid: number, action: BackendAction): Promise<boolean> {

    const fn = action === 'cancel' ? 'pg_cancel_backend' : 'pg_terminate_backend';
    const { rows } = await knex.raw(`
        SELECT ${fn}(a.pid) AS done
          FROM pg_stat_activity a
         WHERE a.pid = ? AND a.datname = current_database()
           AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()`, [pid]);
    return rows.length > 0 && rows[0].done === true;
}

/** Tables of the current schema, for validating an ANALYZE request. */
export async function userTables(knex: Knex): Promise<string[]> {

    const { rows } = await knex.raw('SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() ORDER BY relname');
    return rows.map((row: { relname: string }) => row.relname);
}

export async function analyzeTable(knex: Knex, table: string): Promise<void> {

    await knex.raw('ANALYZE ??', [table]);
}

/** The PostgreSQL advisor: four reports read in parallel, four actions. */
export function createPostgresAdvisor(): DatabaseAdvisorProbe {

    return {
        section: 'postgres',
        actions: ['cancel', 'terminate', 'analyze', 'reset-query-stats'],
        async report({ statsKnex, applicationName }: AdvisorContext) {

            const [queries, indexes, upkeep, activity] = await Promise.all([
                queryStats(statsKnex),
                indexAdvice(statsKnex),
                maintenance(statsKnex),
                sessions(statsKnex, applicationName)
            ]);
            return { query_stats: queries, indexes, maintenance: upkeep, sessions: activity };
        },
        async act(context: AdvisorContext, request: AdvisorAction) {

            try {
                return await postgresAction(context, request);
            }
            catch (error) {
                if ((error as { code?: string }).code === '42501') {
                    throw new AdvisorError('unavailable', `The database role this server uses lacks the privilege to ${request.action} (a superuser or pg_signal_backend / pg_maintain-style grant is needed)`);
                }

                throw error;
            }
        }
    };
}

async function postgresAction({ statsKnex }: AdvisorContext, request: AdvisorAction): Promise<string> {

    switch (request.action) {
        case 'cancel':
        case 'terminate': {
            if (!request.pid) {
                throw new AdvisorError('invalid', `${request.action} needs the backend's pid`);
            }

            if (!await signalBackend(statsKnex, request.pid, request.action)) {
                throw new AdvisorError('not-found', `No client backend ${request.pid} in this database (it may have ended)`);
            }

            return request.action === 'cancel' ? `Cancelled the query of backend ${request.pid}` : `Terminated backend ${request.pid}`;
        }

        case 'analyze': {
            const tables = await userTables(statsKnex);
            if (!request.table || !tables.includes(request.table)) {
                throw new AdvisorError('invalid', `analyze needs a table of this schema (one of: ${tables.join(', ')})`);
            }

            await analyzeTable(statsKnex, request.table);
            return `Analyzed ${request.table}`;
        }

        case 'reset-query-stats': {
            const state = await pgStatStatementsState(statsKnex);
            if (state !== 'ready') {
                throw new AdvisorError('unavailable', `Query statistics are not available: ${PG_STAT_STATEMENTS_HINT[state]}`);
            }

            await resetQueryStats(statsKnex);
            return 'Query statistics reset for this database';
        }

        default:
            throw new AdvisorError('invalid', `Unknown action "${request.action}" on PostgreSQL (accepted: cancel, terminate, analyze, reset-query-stats)`);
    }
}
