import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { formatBytes, formatDuration, formatMilliseconds, formatNumber, formatPercent, formatTimestamp } from '../../server/console/format';
import { alert, badge, facts } from '../../server/console/fragments';
import { html } from '../../server/html';

export const lab = Lab.script();
const { describe, it } = lab;

describe('console formatting and fragments', () => {

    it('formats sizes, durations, ratios, counts and instants for people', () => {

        expect(formatBytes(0)).to.equal('0 B');
        expect(formatBytes(1023)).to.equal('1023 B');
        expect(formatBytes(1536)).to.equal('1.50 KiB');
        expect(formatBytes(734_003_200)).to.equal('700.0 MiB');
        expect(formatBytes(null)).to.equal('—');
        expect(formatBytes(-1)).to.equal('—');
        expect(formatDuration(0.25)).to.equal('250 ms');
        expect(formatDuration(0)).to.equal('0 ms');
        expect(formatDuration(59)).to.equal('59s');
        expect(formatDuration(3600)).to.equal('1h');
        expect(formatDuration(90_061)).to.equal('1d 1h 1m');
        expect(formatDuration(Number.NaN)).to.equal('—');
        expect(formatMilliseconds(2.345)).to.equal('2.35 ms');
        expect(formatMilliseconds(250.4)).to.equal('250 ms');
        expect(formatMilliseconds(1500)).to.equal('1.50 s');
        expect(formatMilliseconds(undefined)).to.equal('—');
        expect(formatPercent(0.9876)).to.equal('98.8 %');
        expect(formatPercent(null)).to.equal('—');
        expect(formatNumber(1234567)).to.equal('1,234,567');
        expect(formatNumber(Infinity)).to.equal('—');
        expect(formatTimestamp('2026-11-24T00:05:06.789Z')).to.equal('2026-11-24T00:05:06Z');
        expect(formatTimestamp(0)).to.equal('1970-01-01T00:00:00Z');
        expect(formatTimestamp('not a date')).to.equal('—');
        expect(formatTimestamp(null)).to.equal('—');
    });

    it('builds alerts, badges and facts with every value escaped', () => {

        expect(alert('error', '<b>x</b>').value).to.equal('<div class="alert alert-error" role="alert">&lt;b&gt;x&lt;/b&gt;</div>');
        expect(alert('success', html`<b>kept</b>`).value).to.equal('<div class="alert alert-success" role="status"><b>kept</b></div>');
        expect(badge('"ok"', 'ok').value).to.equal('<span class="badge badge-ok">&quot;ok&quot;</span>');
        expect(facts([['<k>', '<v>'], ['n', 0]]).value).to.equal(
            '<dl class="facts"><div class="fact"><dt>&lt;k&gt;</dt><dd>&lt;v&gt;</dd></div><div class="fact"><dt>n</dt><dd>0</dd></div></dl>');
    });
});
