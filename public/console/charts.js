// The Charts panel: draws each <figure data-chart> of a .charts container with
// uPlot from GET /monitoring/history, and refreshes the data every 5 s while
// the tab is visible. A file (not inline) for the console's CSP.

(function () {

    'use strict';

    var REFRESH_MS = 5000;
    var COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563'];

    function seriesOf(data, name) {

        for (var i = 0; i < data.series.length; ++i) {
            if (data.series[i].name === name) {
                return data.series[i].values;
            }
        }

        return [];
    }

    // Each chart: its lines as [label, values] pairs, from the history columns.
    var CHARTS = {
        pool: function (d) { return [['in use', seriesOf(d, 'pool_in_use')], ['waiting', seriesOf(d, 'pool_waiting')]]; },
        acquire: function (d) { return [['acquire p95 ms', seriesOf(d, 'acquire_p95_ms')]]; },
        rate: function (d) {

            return [['all routes', seriesOf(d, 'requests_per_s')]].concat(d.routes.map(function (r) { return [r.route, r.requests_per_s]; }));
        },
        latency: function (d) {

            return [['all routes', seriesOf(d, 'request_p95_ms')]].concat(d.routes.map(function (r) { return [r.route, r.p95_ms]; }));
        },
        tps: function (d) { return [['transactions/s', seriesOf(d, 'transactions_per_s')]]; },
        cache: function (d) { return [['cache hit ratio', seriesOf(d, 'cache_hit_ratio')]]; },
        wal: function (d) { return [['WAL bytes', seriesOf(d, 'wal_bytes')]]; },
        busy: function (d) { return [['busy/min', seriesOf(d, 'sqlite_busy_per_min')], ['locked/min', seriesOf(d, 'sqlite_locked_per_min')]]; },
        slow: function (d) { return [['slow queries/min', seriesOf(d, 'slow_queries_per_min')]]; }
    };

    function formatBytes(value) {

        var units = ['B', 'KiB', 'MiB', 'GiB'];
        var unit = 0;
        while (Math.abs(value) >= 1024 && unit < units.length - 1) {
            value /= 1024;
            ++unit;
        }

        return (unit ? value.toFixed(1) : String(value)) + ' ' + units[unit];
    }

    function key(lines) {

        return lines.map(function (line) { return line[0]; }).join('\n');
    }

    function draw(figure, data) {

        var lines = CHARTS[figure.getAttribute('data-chart')](data);
        var columns = [data.t].concat(lines.map(function (line) { return line[1]; }));
        var target = figure.querySelector('.chart-canvas');
        var width = Math.max(280, Math.floor(target.getBoundingClientRect().width || 480));
        figure.setAttribute('data-points', String(data.t.length));

        // Same lines as before: new data only. Different lines (a new busy route): a new chart.
        // A panel refresh (htmx morph) may have emptied the canvas box: draw anew then.
        if (figure.plot && !target.contains(figure.plot.root)) {
            figure.plot.destroy();
            figure.plot = null;
        }

        if (figure.plot && figure.plotKey === key(lines)) {
            figure.plot.setData(columns);
            return;
        }

        if (figure.plot) {
            figure.plot.destroy();
        }

        var series = [{}].concat(lines.map(function (line, i) {

            return { label: line[0], stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true };
        }));
        var bytes = figure.getAttribute('data-chart') === 'wal';
        var yAxis = { size: 70, values: bytes ? function (u, ticks) { return ticks.map(formatBytes); } : undefined };
        figure.plot = new window.uPlot({ width: width, height: 180, series: series, axes: [{}, yAxis], legend: { show: true } }, columns, target);
        figure.plotKey = key(lines);
    }

    function load(container) {

        if (!container.isConnected || document.hidden || container.loading) {
            return;
        }

        container.loading = true;
        fetch(container.getAttribute('data-history-src'), { credentials: 'same-origin', headers: { accept: 'application/json' } })
            .then(function (response) {

                if (!response.ok) {
                    throw new Error('HTTP ' + response.status);
                }

                return response.json();
            })
            .then(function (data) {

                container.removeAttribute('data-error');
                container.querySelectorAll('figure[data-chart]').forEach(function (figure) { draw(figure, data); });
                container.setAttribute('data-ready', 'true');
            })
            .catch(function (error) {

                container.setAttribute('data-error', String(error.message || error));
            })
            .then(function () {

                container.loading = false;
            });
    }

    function start(container) {

        if (container.timer || !window.uPlot) {
            return;
        }

        load(container);
        container.timer = setInterval(function () {

            if (!container.isConnected) {
                clearInterval(container.timer);
                return;
            }

            load(container);
        }, REFRESH_MS);
    }

    function scan() {

        document.querySelectorAll('.charts[data-history-src]').forEach(start);
    }

    document.addEventListener('DOMContentLoaded', function () {

        scan();
        new MutationObserver(scan).observe(document.body, { childList: true, subtree: true });
    });

    document.addEventListener('visibilitychange', function () {

        if (!document.hidden) {
            document.querySelectorAll('.charts[data-history-src]').forEach(load);
        }
    });
}());
