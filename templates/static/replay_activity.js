// What the replay page lists beside the player, from a replay's rrweb events:
// no DOM here, so each rule can be read (and changed) on its own.
//
// The Replay SDK mixes time units: rrweb's own events and a `breadcrumb`
// custom event carry `timestamp` in milliseconds, while a `performanceSpan`
// custom event carries it in seconds (as do every payload's timestamps).
// Every time is turned into milliseconds here before anything compares them.
window.ReplayActivity = (function () {
  'use strict';

  // Seconds since 1970 stay below this until the year 5138; milliseconds are above it.
  const SECONDS_LIMIT = 1e11;
  // A request's performanceSpan and its http.client span start within a
  // few ms of each other (both read the browser's resource timing).
  const MATCH_WINDOW_MS = 2000;
  const CUSTOM = 5;

  function isObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  }

  function text(value) {
    return typeof value === 'string' ? value : '';
  }

  function toMs(timestamp) {
    if (typeof timestamp !== 'number' || !isFinite(timestamp)) return null;
    return timestamp < SECONDS_LIMIT ? timestamp * 1000 : timestamp;
  }

  // The events the rrweb player replays: rrweb's own (full snapshot,
  // incremental, meta…), in time order. Sentry's custom events are left out:
  // the list shows them, and their seconds would stretch the player's timeline.
  function playableEvents(events) {
    const playable = [];
    for (const event of Array.isArray(events) ? events : []) {
      if (!isObject(event) || typeof event.type !== 'number' || event.type === CUSTOM) continue;
      const ms = toMs(event.timestamp);
      if (ms === null) continue;
      playable.push(ms === event.timestamp ? event : Object.assign({}, event, { timestamp: ms }));
    }
    // Array.prototype.sort is stable: events of one moment keep their order.
    return playable.sort((a, b) => a.timestamp - b.timestamp);
  }

  function breadcrumbItem(payload, ms) {
    const category = text(payload.category);
    const data = isObject(payload.data) ? payload.data : {};
    let kind = 'breadcrumb';
    let label = text(payload.message);
    if (category === 'ui.click' || category === 'ui.tap') kind = 'click';
    else if (category === 'navigation') {
      kind = 'navigation';
      label = label || text(data.to);
    } else if (category === 'console') kind = 'console';
    else if (category.startsWith('replay.') || category === 'sentry.transaction') return null;
    return { kind, ms, category, label, level: text(payload.level) };
  }

  // A request's path and query, which tell requests apart (the full URL is the row's tooltip).
  function shortUrl(url) {
    try {
      const parsed = new URL(url);
      return parsed.pathname + parsed.search;
    } catch (err) {
      return url;
    }
  }

  function spanItem(payload, ms) {
    const op = text(payload.op);
    const data = isObject(payload.data) ? payload.data : {};
    const start = toMs(payload.startTimestamp);
    const end = toMs(payload.endTimestamp);
    const duration = start !== null && end !== null ? (end - start) / 1000 : null;
    const url = text(payload.description);
    if (op === 'resource.fetch' || op === 'resource.xhr') {
      const status = typeof data.statusCode === 'number' ? data.statusCode : null;
      const method = text(data.method) || 'GET';
      return { kind: 'request', ms, category: op, label: `${method} ${shortUrl(url)}`, url, method, status, duration };
    }
    if (op.startsWith('navigation.')) {
      return { kind: 'navigation', ms, category: op, label: url, url, duration };
    }
    // Other resources, web vitals and memory samples would bury the rest.
    return null;
  }

  // One list item per click, navigation, console message and request,
  // in time order; `ms` is the moment it happened.
  function activityItems(events) {
    const items = [];
    for (const event of Array.isArray(events) ? events : []) {
      if (!isObject(event) || event.type !== CUSTOM || !isObject(event.data)) continue;
      const payload = isObject(event.data.payload) ? event.data.payload : {};
      const tag = event.data.tag;
      let item = null;
      if (tag === 'breadcrumb') item = breadcrumbItem(payload, toMs(payload.timestamp) ?? toMs(event.timestamp));
      else if (tag === 'performanceSpan') item = spanItem(payload, toMs(payload.startTimestamp) ?? toMs(event.timestamp));
      if (item && item.ms !== null) items.push(item);
    }
    return items.sort((a, b) => a.ms - b.ms);
  }

  function spanUrl(span) {
    const data = isObject(span.data) ? span.data : {};
    if (typeof data['url.full'] === 'string') return data['url.full'];
    if (typeof data.url === 'string') return data.url;
    // A classic http.client span's description is "GET https://…".
    return text(span.description).replace(/^[A-Z]+ /, '');
  }

  // The Replay SDK records no trace header for a request (it keeps headers
  // only for networkDetailAllowUrls), so a request is tied to its span by
  // what both record: the same URL, starting at nearly the same moment.
  // Each span is given to one request at most. `spans` are /api/traces
  // spans, each with its `trace_id`.
  function matchSpans(items, spans) {
    const byUrl = new Map();
    for (const span of spans) {
      if (!text(span.op).startsWith('http.client')) continue;
      const start = toMs(span.start_timestamp);
      if (start === null) continue;
      const url = spanUrl(span);
      if (!byUrl.has(url)) byUrl.set(url, []);
      byUrl.get(url).push({ span, start });
    }
    const used = new Set();
    for (const item of items) {
      if (item.kind !== 'request') continue;
      let best = null;
      for (const candidate of byUrl.get(item.url) || []) {
        const gap = Math.abs(candidate.start - item.ms);
        if (used.has(candidate.span) || gap > MATCH_WINDOW_MS) continue;
        if (best === null || gap < best.gap) best = { span: candidate.span, gap };
      }
      if (best) {
        used.add(best.span);
        item.trace = { trace_id: best.span.trace_id, span_id: best.span.span_id };
      }
    }
    return items;
  }

  return { toMs, playableEvents, activityItems, matchSpans };
})();
