// Console behaviour htmx does not give by itself. Kept in a file (not inline)
// so the page's Content-Security-Policy can forbid inline scripts and eval.
//  - sends the CSRF token with every state-changing htmx request;
//  - refreshes elements that carry data-refresh-seconds while the tab is
//    visible (they listen with hx-trigger="console:refresh"), pauses while
//    it is hidden and catches up at once when it is shown again;
//  - "Refresh" buttons (data-refresh-target) refresh an element now;
//  - shows a banner while the server cannot be reached.

(function () {

    'use strict';

    var SAFE_METHODS = ['GET', 'HEAD', 'OPTIONS'];
    var meta = document.querySelector('meta[name="csrf-token"]');
    var csrfToken = meta ? meta.getAttribute('content') : null;
    var polled = new Set();

    document.addEventListener('htmx:config:request', function (event) {

        var request = event.detail.ctx.request;
        if (csrfToken && SAFE_METHODS.indexOf(String(request.method).toUpperCase()) === -1) {
            request.headers['X-CSRF-Token'] = csrfToken;
        }
    });

    function refresh(element) {

        // Skip a tick rather than queue requests behind a slow one.
        if (element.isConnected && !element.classList.contains('htmx-request')) {
            window.htmx.trigger(element, 'console:refresh');
        }
    }

    function startPolling(element) {

        var seconds = Number(element.getAttribute('data-refresh-seconds'));
        if (polled.has(element) || !(seconds > 0)) {
            return;
        }

        polled.add(element);
        var timer = window.setInterval(function () {

            if (!element.isConnected) {
                window.clearInterval(timer);
                polled.delete(element);
                return;
            }

            if (document.visibilityState === 'visible') {
                refresh(element);
            }
        }, seconds * 1000);
    }

    function scan(root) {

        if (root.matches && root.matches('[data-refresh-seconds]')) {
            startPolling(root);
        }

        if (root.querySelectorAll) {
            root.querySelectorAll('[data-refresh-seconds]').forEach(startPolling);
        }
    }

    document.addEventListener('visibilitychange', function () {

        document.documentElement.classList.toggle('polling-paused', document.visibilityState !== 'visible');
        if (document.visibilityState === 'visible') {
            polled.forEach(refresh);
        }
    });

    document.addEventListener('click', function (event) {

        var button = event.target.closest ? event.target.closest('[data-refresh-target]') : null;
        if (button) {
            var target = document.querySelector(button.getAttribute('data-refresh-target'));
            if (target) {
                window.htmx.trigger(target, 'console:refresh');
            }
        }
    });

    function banner(message) {

        var element = document.getElementById('console-status');
        if (element) {
            element.textContent = message || '';
            element.hidden = !message;
        }
    }

    document.addEventListener('htmx:error', function (event) {

        var ctx = event.detail && event.detail.ctx;
        if (ctx && !ctx.response) {
            banner('The server cannot be reached. Retrying…');
        }
    });

    document.addEventListener('htmx:after:request', function () {

        banner(null);
    });

    function start() {

        scan(document.body);
        window.htmx.onLoad(scan);
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', start);
    }
    else {
        start();
    }
})();
