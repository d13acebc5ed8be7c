// Helpers shared by the dialect modules.

/** An error and the driver errors Objection/knex wrap inside it, outermost first. */
function* errorChain(error: unknown): Generator<any> {

    let current: any = error;
    for (let depth = 0; current && depth < 4; ++depth) {
        yield current;
        current = current.nativeError ?? current.cause;
    }
}

/** The driver error code of an error, looking through Objection/knex wrappers. */
export function errorCode(error: unknown): string | undefined {

    for (const current of errorChain(error)) {
        if (typeof current.code === 'string') {
            return current.code;
        }
    }

    return undefined;
}

/** True when the error or a driver error it wraps has a message matching `pattern`. */
export function errorMessageMatches(error: unknown, pattern: RegExp): boolean {

    for (const current of errorChain(error)) {
        if (typeof current.message === 'string' && pattern.test(current.message)) {
            return true;
        }
    }

    return false;
}
