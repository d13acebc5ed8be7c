// A TCP port on the loopback interface that nothing listens on right now, as
// the kernel hands one out: for the servers tests start themselves
// (PostgreSQL clusters, PgBouncer).

import Net from 'node:net';

export function freePort(): Promise<number> {

    return new Promise((resolve, reject) => {

        const server = Net.createServer();
        server.unref();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {

            const { port } = server.address() as Net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}
