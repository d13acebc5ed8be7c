// Human-readable figures for console panels, shared so every panel shows
// sizes, durations and ratios the same way.

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(bytes: number | null | undefined): string {

    if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) {
        return '—';
    }

    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
        value /= 1024;
        ++unit;
    }

    return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${BYTE_UNITS[unit]}`;
}

/** 93784 → "1d 2h 3m 4s"; shows at most the three largest units. */
export function formatDuration(seconds: number | null | undefined): string {

    if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
        return '—';
    }

    if (seconds < 1) {
        return `${Math.round(seconds * 1000)} ms`;
    }

    const parts: string[] = [];
    let rest = Math.floor(seconds);
    for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
        if (rest >= size || (unit === 's' && parts.length === 0)) {
            parts.push(`${Math.floor(rest / size)}${unit}`);
            rest %= size;
        }
    }

    return parts.slice(0, 3).join(' ');
}

export function formatMilliseconds(ms: number | null | undefined): string {

    if (ms === null || ms === undefined || !Number.isFinite(ms)) {
        return '—';
    }

    return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** A ratio in [0, 1] as a percentage. */
export function formatPercent(ratio: number | null | undefined, digits = 1): string {

    if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) {
        return '—';
    }

    return `${(ratio * 100).toFixed(digits)} %`;
}

export function formatNumber(value: number | null | undefined): string {

    if (value === null || value === undefined || !Number.isFinite(value)) {
        return '—';
    }

    return value.toLocaleString('en-US');
}

/** ISO-8601 UTC without milliseconds, for timestamps shown to operators. */
export function formatTimestamp(value: Date | string | number | null | undefined): string {

    if (value === null || value === undefined) {
        return '—';
    }

    const date = value instanceof Date ? value : new Date(value);
    return Number.isNaN(date.getTime()) ? '—' : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
