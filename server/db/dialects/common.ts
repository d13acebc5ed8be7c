// Helpers shared by the dialect modules.

/** The driver error code of an error, looking through Objection/knex wrappers. */
export function errorCode(error: unknown): string | undefined {

    let current: any = error;
    for (let depth = 0; current && depth < 4; ++depth) {
        if (typeof current.code === 'string') {
            return current.code;
        }

        current = current.nativeError ?? current.cause;
    }

    return undefined;
}
