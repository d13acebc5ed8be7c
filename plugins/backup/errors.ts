// One error type for every backup failure, with a kind the routes map to a
// status code. Messages are meant for an operator and never carry credentials.

import { redactSecrets } from '../../server/db/url';

export type BackupErrorKind =
    | 'invalid'         // bad input (400)
    | 'not-found'       // no such backup (404)
    | 'conflict'        // another operation runs, or the name exists (409)
    | 'unsupported'     // not possible for this format or dialect (422)
    | 'tool'            // a client tool is missing or too old (500, says what to install)
    | 'failed';         // the operation failed; nothing was left behind (500)

export class BackupError extends Error {

    constructor(readonly kind: BackupErrorKind, message: string) {

        super(redactSecrets(message));
        this.name = 'BackupError';
    }
}
