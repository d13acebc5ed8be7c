// SQLite health: the file and its write-ahead log, page figures, and how
// often the one writer made others wait too long (busy/locked errors).

import { sqliteFileSizes } from '../../../server/db/dialects/sqlite';
import type { DatabaseProbe, FigureValue, MetricSpec, ProbeContext } from './types';

const PRAGMAS_SQL = `
    SELECT page_size, page_count, freelist_count, journal_mode
      FROM pragma_page_size(), pragma_page_count(), pragma_freelist_count(), pragma_journal_mode()`;

const metrics: MetricSpec[] = [
    { field: 'size_bytes', name: 'na_db_size_bytes', help: 'Size of the database', type: 'gauge' },
    { field: 'wal_size_bytes', name: 'na_sqlite_wal_bytes', help: 'Size of the write-ahead log file', type: 'gauge' },
    { field: 'page_size', name: 'na_sqlite_page_size_bytes', help: 'Page size', type: 'gauge' },
    { field: 'page_count', name: 'na_sqlite_pages', help: 'Pages in the database', type: 'gauge' },
    { field: 'freelist_count', name: 'na_sqlite_freelist_pages', help: 'Unused pages waiting for reuse', type: 'gauge' },
    { field: 'busy_errors', name: 'na_sqlite_busy_errors_total', help: 'Queries that failed with SQLITE_BUSY', type: 'counter' },
    { field: 'locked_errors', name: 'na_sqlite_locked_errors_total', help: 'Queries that failed with SQLITE_LOCKED', type: 'counter' }
];

export function createSqliteProbe(): DatabaseProbe {

    return {
        section: 'sqlite',
        metrics,
        async collect({ statsKnex, appKnex, errorCount }: ProbeContext): Promise<Record<string, FigureValue>> {

            const [pragmas] = await statsKnex.raw(PRAGMAS_SQL);
            const filename = (appKnex.client.config.connection as { filename: string }).filename;
            const inMemory = filename === ':memory:';
            const sizes = inMemory ? null : sqliteFileSizes(filename);
            return {
                file: inMemory ? ':memory:' : filename,
                size_bytes: sizes?.total ?? pragmas.page_size * pragmas.page_count,
                file_size_bytes: sizes?.file ?? 0,
                wal_size_bytes: sizes?.wal ?? 0,
                shm_size_bytes: sizes?.shm ?? 0,
                page_size: Number(pragmas.page_size),
                page_count: Number(pragmas.page_count),
                freelist_count: Number(pragmas.freelist_count),
                journal_mode: String(pragmas.journal_mode),
                busy_errors: errorCount('SQLITE_BUSY'),
                locked_errors: errorCount('SQLITE_LOCKED')
            };
        }
    };
}
