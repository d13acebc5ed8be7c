// Numeric flags of the benchmark scripts: a typo stops the script with a
// clear message instead of running a benchmark of NaN seconds.

export function positiveInteger(flag: string, value: string | undefined, max = Number.MAX_SAFE_INTEGER): number {

    const number = Number(value);
    if (!/^\d+$/.test(value ?? '') || !Number.isSafeInteger(number) || number < 1 || number > max) {
        console.error(`--${flag} must be a whole number from 1 to ${max} (got ${JSON.stringify(value)})`);
        process.exit(2);
    }

    return number;
}
