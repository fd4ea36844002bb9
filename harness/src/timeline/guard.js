// Catches every script error, unhandled rejection and console.error of the page into the
// #errors element, so a reader (and the browser test) sees them. Runs before the main script.
(function () {
  'use strict';
  var errors = [];
  function show() {
    var el = document.getElementById('errors');
    if (!el) return;
    el.hidden = errors.length === 0;
    el.textContent = errors.join('\n');
    el.setAttribute('data-count', String(errors.length));
  }
  function report(text) {
    errors.push(text);
    show();
  }
  window.addEventListener('error', function (e) {
    report('script error: ' + e.message + ' (' + (e.filename || 'page') + ':' + e.lineno + ':' + e.colno + ')');
  });
  window.addEventListener('unhandledrejection', function (e) {
    report('unhandled promise rejection: ' + e.reason);
  });
  var original = console.error;
  console.error = function () {
    report('console.error: ' + Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
  window.timelineErrors = errors;
  document.addEventListener('DOMContentLoaded', show);
})();
