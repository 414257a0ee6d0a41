// Times arrive rendered in UTC (readable with scripts off). Here each
// <time datetime> is shown in the browser's time zone with the UTC text on
// hover; a "5 min ago" keeps its text and gets the local time on hover.
(function () {
  'use strict';

  function pad(n, width) {
    return String(n).padStart(width || 2, '0');
  }

  // The zone as an offset ("UTC+05:30"): the same on every browser and locale.
  function zone(when) {
    const minutes = -when.getTimezoneOffset();
    if (minutes === 0) return 'UTC';
    const size = Math.abs(minutes);
    return `UTC${minutes < 0 ? '-' : '+'}${pad(Math.floor(size / 60))}:${pad(size % 60)}`;
  }

  function localText(when, precise) {
    const clock = `${pad(when.getHours())}:${pad(when.getMinutes())}:${pad(when.getSeconds())}`;
    if (precise) return `${clock}.${pad(when.getMilliseconds(), 3)} (${zone(when)})`;
    const day = `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}`;
    return `${day} ${clock} (${zone(when)})`;
  }

  function showLocal(el) {
    const when = new Date(el.getAttribute('datetime'));
    if (Number.isNaN(when.getTime())) return;
    const local = localText(when, el.classList.contains('precise'));
    if (el.classList.contains('ago')) {
      el.title = `${local}; ${el.title}`;
    } else {
      el.title = el.textContent;
      el.textContent = local;
    }
  }

  // Every time under `root`: the page's at load, and each part the live
  // scripts (live.js, trace_live.js) bring in later from the server.
  function showLocalTimes(root) {
    root.querySelectorAll('time[datetime]').forEach(showLocal);
  }
  window.showLocalTimes = showLocalTimes;
  showLocalTimes(document);
})();
