// The servers the API benchmark measures, each in its own process so the load
// generator never shares their event loop:
//
//   serve.ts hapi <port> <env json>   the real server, configured by the same
//                                     variables as always (DATABASE_URL,
//                                     DB_POOL_*, ENABLE_MONITORING, …) given as
//                                     JSON, plus /bench/slow
//   serve.ts bare <port> <pg url> <pool max>
//                                     node:http + pg doing the same primary-key
//                                     lookup as GET /resources/{id}
//
// Each prints one line, `ready <port>`, when it accepts connections.

import Http from 'node:http';
import Joi from 'joi';
import Pg from 'pg';

import { loadConfig, type Env } from '../../server/config';
import { createServer, prepareDatabase } from '../../server/index';
import { RESOURCE_COLUMNS } from '../../server/models';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function hapi(port: number, env: Env): Promise<void> {

    const config = { ...loadConfig(env), port, host: '127.0.0.1' };
    const server = await createServer(config);
    // Only in the benchmark: a request that holds its connection for `ms`.
    server.route({
        method: 'GET',
        path: '/bench/slow',
        options: {
            validate: { query: Joi.object({ ms: Joi.number().integer().min(0).max(5000).default(500) }) },
            async handler(request) {

                await request.knex.raw('SELECT pg_sleep(?)', [(request.query as { ms: number }).ms / 1000]);
                return { slept_ms: (request.query as { ms: number }).ms };
            }
        }
    });
    // As `npm start` does: session settings (role defaults behind PgBouncer), schema check.
    await prepareDatabase(server, config);
    await server.start();
    process.once('SIGTERM', () => void server.stop({ timeout: 1000 }).then(() => process.exit(0)));
    console.log(`ready ${port}`);
}

function bare(port: number, url: string, max: number): void {

    const pool = new Pg.Pool({ connectionString: url, max });
    const sql = `SELECT ${RESOURCE_COLUMNS.map((column) => `"${column}"`).join(', ')} FROM resources WHERE id = $1`;
    const send = (res: Http.ServerResponse, status: number, body: unknown) => {

        const payload = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
        res.end(payload);
    };

    const server = Http.createServer(async (req, res) => {

        const match = /^\/resources\/([^/?]+)$/.exec(req.url ?? '');
        if (req.method !== 'GET' || !match) {
            return send(res, 404, { error: 'Not Found' });
        }

        if (!UUID.test(match[1]!)) {
            return send(res, 400, { error: 'Bad Request' });
        }

        try {
            const { rows } = await pool.query(sql, [match[1]]);
            return rows.length ? send(res, 200, rows[0]) : send(res, 404, { error: 'Not Found' });
        }
        catch {
            return send(res, 500, { error: 'Internal Server Error' });
        }
    });

    server.listen(port, '127.0.0.1', () => console.log(`ready ${port}`));
    process.once('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
}

const [mode, port, third, max] = process.argv.slice(2);
if (mode === 'hapi') {
    hapi(Number(port), JSON.parse(third!) as Env).catch((error) => {

        console.error(error);
        process.exit(1);
    });
}
else if (mode === 'bare') {
    bare(Number(port), third!, Number(max));
}
else {
    console.error('usage: serve.ts hapi <port> <env json> | serve.ts bare <port> <postgres url> <pool max>');
    process.exit(2);
}
