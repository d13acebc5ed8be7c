import Os from 'node:os';
import Path from 'node:path';
import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { ConfigError, loadConfig } from '../../server/config';

export const lab = Lab.script();
const { describe, it } = lab;

const root = Path.resolve(__dirname, '..', '..');

describe('config: monitoring settings', () => {

    it('defaults to a 1 s slow-query threshold, 100 kept slow queries, N+1 above 10, warnings over 90 % at most once a minute, token-protected metrics, queries attributed to routes', () => {

        const config = loadConfig({}, root);
        expect(config.slowQueryMs).to.equal(1000);
        expect(config.monitoring).to.equal({ slowLogSize: 100, nPlusOneQueries: 10, poolWarnPercent: 90, poolWarnIntervalS: 60, metricsPublic: false, instanceName: `${Os.hostname()}:3000`, queryAttribution: 'request' });
    });

    it('reads every monitoring variable', () => {

        const config = loadConfig({
            SLOW_QUERY_MS: '250', SLOW_QUERY_LOG_SIZE: '20', N_PLUS_ONE_QUERIES: '5',
            POOL_WARN_PERCENT: '75.5', POOL_WARN_INTERVAL_S: '0', METRICS_PUBLIC: 'yes', QUERY_ATTRIBUTION: 'off', INSTANCE_NAME: 'api-2'
        }, root);
        expect(config.slowQueryMs).to.equal(250);
        expect(config.monitoring).to.equal({ slowLogSize: 20, nPlusOneQueries: 5, poolWarnPercent: 75.5, poolWarnIntervalS: 0, metricsPublic: true, instanceName: 'api-2', queryAttribution: 'off' });
    });

    it('reads the attribution mode, booleans included', () => {

        const modes: Record<string, string> = { request: 'request', ASYNC: 'async', off: 'off', '1': 'request', true: 'request', on: 'request', '0': 'off', no: 'off' };
        for (const [value, mode] of Object.entries(modes)) {
            expect(loadConfig({ QUERY_ATTRIBUTION: value }, root).monitoring.queryAttribution as string, value).to.equal(mode);
        }
    });

    it('refuses values that make no sense, naming the variable', () => {

        const bad: Record<string, string> = {
            SLOW_QUERY_MS: '0',
            SLOW_QUERY_LOG_SIZE: '10001',
            N_PLUS_ONE_QUERIES: '1',
            POOL_WARN_PERCENT: '101',
            POOL_WARN_INTERVAL_S: '-1',
            METRICS_PUBLIC: 'maybe',
            QUERY_ATTRIBUTION: '2',
            INSTANCE_NAME: 'x'.repeat(201)
        };
        for (const [key, value] of Object.entries(bad)) {
            expect(() => loadConfig({ [key]: value }, root), key).to.throw(ConfigError, new RegExp(`^Invalid ${key}: `));
        }
    });
});
