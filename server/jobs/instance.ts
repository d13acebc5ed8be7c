// Who this process is, for the rows it owns (jobs) and the work it leads:
// host and pid for an operator, a random part so a restarted process with a
// reused pid is never mistaken for its predecessor.

import { randomBytes } from 'node:crypto';
import Os from 'node:os';

export function newInstanceId(): string {

    return `${Os.hostname().slice(0, 120)}:${process.pid}:${randomBytes(4).toString('hex')}`;
}
