// The report as a text table for terminals (the JSON form is the report object itself).

import type { MigrationReport } from './types';

function pad(text: string, width: number, right = false): string {

    return right ? text.padStart(width) : text.padEnd(width);
}

export function formatReport(report: MigrationReport): string {

    const lines: string[] = [];
    lines.push(`${report.dryRun ? 'Dry run' : 'Migration'} ${report.source} → ${report.target}${report.resumed ? ' (resumed)' : ''}`);
    if (report.appliedMigrations.length) {
        lines.push(`Applied ${report.appliedMigrations.length} migration(s) to the target: ${report.appliedMigrations.join(', ')}`);
    }

    for (const issue of report.schemaIssues) {
        lines.push(`schema: ${issue.table}: ${issue.message}`);
    }

    for (const value of report.invalidValues.slice(0, 20)) {
        lines.push(`invalid: ${value.table} ${JSON.stringify(value.key)} column ${value.column}: ${value.reason} (${value.hint})`);
    }

    if (report.invalidValues.length > 20) {
        lines.push(`invalid: … ${report.invalidValues.length - 20} more in the JSON report`);
    }

    for (const warning of report.warnings) {
        lines.push(`warning: ${warning}`);
    }

    if (report.tables.length) {
        const head = ['table', 'source', 'target', 'copied', 'checksum', 'seconds', 'rows/s', 'status'];
        const rows = report.tables.map((table) => [
            table.table,
            String(table.sourceRows),
            table.targetRows === null ? '-' : String(table.targetRows),
            String(table.copiedRows),
            table.checksumMatch === null ? '-' : table.checksumMatch ? 'match' : 'DIFFERS',
            (table.durationMs / 1000).toFixed(2),
            String(table.rowsPerSecond),
            table.status
        ]);
        const widths = head.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
        const line = (cells: string[]) => cells.map((cell, i) => pad(cell, widths[i]!, i > 0 && i < 7)).join('  ');
        lines.push(line(head), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line));
    }

    for (const table of report.tables) {
        for (const error of table.errors) {
            lines.push(`error: ${error.table}${error.batch === null ? '' : ` (batch ${error.batch})`}: ${error.message}`);
        }

        for (const key of table.differingKeys ?? []) {
            lines.push(`differs: ${table.table} ${key}`);
        }
    }

    if (report.fatal) {
        lines.push(`failed: ${report.fatal}`);
    }

    if (report.maintenance) {
        lines.push('maintenance: the source library is read-only (maintenance mode): switch the servers to the target, or turn it off with POST /ops/maintenance');
    }

    const setAside = report.rejectedRows && !report.dryRun ? `, ${report.rejectedRows} set aside in ${report.rejectFile}` : '';
    lines.push(`${report.ok ? 'OK' : 'FAILED'}: ${report.totalRows} row(s)${setAside} in ${(report.durationMs / 1000).toFixed(1)} s (${report.rowsPerSecond} rows/s)`);
    return lines.join('\n');
}
