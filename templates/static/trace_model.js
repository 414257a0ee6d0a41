// The waterfall's shape: which rows show, in what order. Pure functions over
// the server's rows (depth-first, each with its depth), so trace.js only draws.
window.TraceModel = (function () {
  "use strict";
  const num = (v) => (typeof v === "number" && isFinite(v) ? v : null);
  const text = (v) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
  // Sentry's thresholds: a gap between siblings over 100 ms is "missing
  // instrumentation"; five or more similar leaf siblings fold into one row.
  const GAP_MIN = 0.1;
  const GROUP_MIN = 5;

  // Literals out of a description, so `WHERE id = 7` and `WHERE id = 8` read
  // as one kind of query (SDKs that parameterise already send the `?`).
  function shape(description) {
    return text(description).replace(/'(?:[^']|'')*'|"[^"]*"|\b0x[0-9a-f]+\b|\b[0-9a-f]{8,}\b|\b\d+(?:\.\d+)?\b/gi, "?");
  }

  function kindOf(row) {
    return text(row.op) + "\u0000" + shape(row.description);
  }

  // The span's own length as the server computed it (start + duration
  // would round differently), else from its times.
  const duration = (row) => {
    if (num(row.duration) !== null) return row.duration;
    const s = num(row.start_timestamp), e = num(row.timestamp);
    return s === null || e === null ? null : e - s;
  };

  // The page's packed rows (collector/read/trace_compact.py) as row objects:
  // texts looked up in `strings`, users in `users`, the sparse `extras` on
  // their row, times made absolute again. Any value may be of any JSON type.
  function unpack(d) {
    const strings = Array.isArray(d.strings) ? d.strings : [], users = Array.isArray(d.users) ? d.users : [];
    const extras = d.extras && typeof d.extras === "object" ? d.extras : {};
    const K = {};
    (Array.isArray(d.columns) ? d.columns : []).forEach((name, k) => { K[name] = k; });
    const str = (k) => (typeof k === "number" && k >= 0 && k < strings.length ? strings[k] : null);
    const start = num(d.start) || 0;
    const list = (v) => (Array.isArray(v) ? v : []);
    const rows = (Array.isArray(d.rows) ? d.rows : []).map((c, i) => {
      c = Array.isArray(c) ? c : [];
      const x = Object.prototype.hasOwnProperty.call(extras, i) && extras[i] && typeof extras[i] === "object" ? extras[i] : {};
      const off = num(c[K.start]), dur = num(c[K.duration]), flags = num(c[K.flags]) || 0, sdk = str(c[K.sdk]);
      const u = c[K.user];
      return {
        span_id: text(c[K.span_id]), parent: c[K.parent], depth: num(c[K.depth]) || 0,
        op: str(c[K.op]), description: str(c[K.description]),
        start_timestamp: off === null ? null : start + off,
        timestamp: off === null || dur === null ? null : start + off + dur,
        duration: dur, status: str(c[K.status]), service: str(c[K.service]),
        is_segment: Boolean(flags & 1), orphan: Boolean(flags & 2), synthetic: Boolean(flags & 4),
        sdk: sdk === null ? null : { name: sdk }, environment: str(c[K.environment]), release: str(c[K.release]),
        user: typeof u === "number" && users[u] && typeof users[u] === "object" ? users[u] : null,
        errors: list(x.errors), logs: list(x.logs), user_change: x.user_change || null,
        started_trace: x.started_trace || null, called_by: x.called_by || null, incoming: x.incoming || null,
        url: x.url ? text(x.url) : null, data: x.data && typeof x.data === "object" ? x.data : null,
      };
    });
    rows.forEach((r) => {
      const p = r.parent;
      r.parent_span_id = typeof p === "number" && rows[p] ? rows[p].span_id : p === null || p === undefined ? null : text(p);
    });
    if (d.details && typeof d.details === "object") addDetails(rows, d.details, true);
    return rows;
  }

  // The details pane's fields (tags, attributes, segment, origin, sampling
  // context) by span id, onto the rows; `all`: every span's are in.
  function addDetails(rows, details, all) {
    rows.forEach((r) => {
      const more = Object.prototype.hasOwnProperty.call(details, r.span_id) ? details[r.span_id] : null;
      if (more && typeof more === "object") {
        ["segment_id", "origin", "tags", "data", "dsc"].forEach((k) => { if (more[k] !== undefined) r[k] = more[k]; });
      }
      if (more || all) { r.hasDetails = true; r._text = undefined; }
    });
  }

  // Consecutive leaf siblings of one kind become one group item; a group
  // hides no subtree, so folding it loses nothing a click cannot bring back.
  function siblingItems(kids, kinds) {
    const items = [];
    let k = 0;
    while (k < kids.length) {
      let j = k;
      const leaf = (n) => n.kids.length === 0;
      while (leaf(kids[k]) && j + 1 < kids.length && leaf(kids[j + 1]) && kinds(kids[j + 1].i) === kinds(kids[k].i)) j++;
      if (j - k + 1 >= GROUP_MIN) {
        items.push({ group: kids.slice(k, j + 1), key: "g" + kids[k].i });
      } else {
        for (let m = k; m <= j; m++) items.push({ node: kids[m] });
      }
      k = j + 1;
    }
    return items;
  }

  // The tree, each parent's children already folded into items, and for every
  // row its parent row and group, to reveal a row hidden in either.
  function build(rows) {
    const tops = [], stack = [];
    const nodes = rows.map((r, i) => ({ i, kids: [], parent: null }));
    rows.forEach((r, i) => {
      while (stack.length && rows[stack[stack.length - 1].i].depth >= r.depth) stack.pop();
      const parent = stack.length ? stack[stack.length - 1] : null;
      nodes[i].parent = parent ? parent.i : null;
      (parent ? parent.kids : tops).push(nodes[i]);
      stack.push(nodes[i]);
    });
    // Each row's kind once: its description's shape is a regex over it.
    const kindCache = new Array(rows.length);
    const kinds = (i) => (kindCache[i] === undefined ? (kindCache[i] = kindOf(rows[i])) : kindCache[i]);
    const groupOf = new Array(rows.length).fill(null);
    const descendants = new Array(rows.length).fill(0);
    for (let i = rows.length - 1; i >= 0; i--) {
      const n = nodes[i];
      n.items = siblingItems(n.kids, kinds);
      n.items.forEach((it) => it.group && it.group.forEach((g) => { groupOf[g.i] = it.key; }));
      if (n.parent !== null) descendants[n.parent] += descendants[i] + 1;
    }
    return { tops: tops.map((node) => ({ node })), nodes, groupOf, descendants };
  }

  function itemSpan(item, rows) {
    const members = item.group || [item.node];
    let start = null, end = null, longest = null;
    members.forEach((m) => {
      const r = rows[m.i], s = num(r.start_timestamp), e = num(r.timestamp), d = duration(r);
      if (s !== null && (start === null || s < start)) start = s;
      if (e !== null && (end === null || e > end)) end = e;
      if (d !== null && (longest === null || d > longest)) longest = d;
    });
    return { start, end, longest };
  }

  // Longest first; spans without both times last. Array.sort is stable.
  function sortedItems(items, rows, sortBy) {
    if (sortBy !== "duration") return items;
    const key = (it) => { const d = itemSpan(it, rows).longest; return d === null ? -Infinity : d; };
    return items.slice().sort((a, b) => key(b) - key(a));
  }

  // What shows, top to bottom: {kind: "span"|"group"|"gap", depth, ...}.
  function flatten(model, rows, state) {
    const out = [];
    const walk = (items, depth) => {
      let coveredTo = null;
      sortedItems(items, rows, state.sortBy).forEach((item) => {
        const span = itemSpan(item, rows);
        if (state.sortBy !== "duration" && depth > 0 && coveredTo !== null && span.start !== null && span.start - coveredTo > GAP_MIN) {
          out.push({ kind: "gap", depth, start: coveredTo, end: span.start });
        }
        if (span.end !== null) coveredTo = coveredTo === null ? span.end : Math.max(coveredTo, span.end);
        if (item.group) {
          out.push({ kind: "group", depth, key: item.key, members: item.group.map((g) => g.i), start: span.start, end: span.end });
          if (state.openGroups.has(item.key)) item.group.forEach((g) => out.push({ kind: "span", depth, i: g.i, inGroup: item.key }));
          return;
        }
        out.push({ kind: "span", depth, i: item.node.i });
        if (!state.collapsed.has(item.node.i)) walk(item.node.items, depth + 1);
      });
    };
    walk(model.tops, 0);
    return out;
  }

  // Open every collapsed ancestor and the group a row sits in.
  function reveal(model, state, i) {
    if (model.groupOf[i]) state.openGroups.add(model.groupOf[i]);
    for (let p = model.nodes[i].parent; p !== null; p = model.nodes[p].parent) state.collapsed.delete(p);
  }

  // Google's thresholds (good up to the first, poor past the second); the
  // times are milliseconds after navigation start, CLS has no unit.
  const VITALS = [
    { name: "ttfb", good: 800, poor: 1800, timed: true },
    { name: "fcp", good: 1800, poor: 3000, timed: true },
    { name: "lcp", good: 2500, poor: 4000, timed: true },
    { name: "inp", good: 200, poor: 500, timed: false },
    { name: "cls", good: 0.1, poor: 0.25, timed: false },
  ];

  // Where an SDK puts a vital: v2 span attributes (`browser.web_vital.lcp.value`,
  // or `lcp` on the pageload span), or a transaction's measurements.
  function vitalValue(row, name) {
    const data = row.data && typeof row.data === "object" ? row.data : {};
    const m = data.measurements && typeof data.measurements === "object" ? data.measurements[name] : null;
    const candidates = [data["browser.web_vital." + name + ".value"], data["measurements." + name + ".value"], m && m.value];
    if (text(row.op) === "pageload") candidates.push(data[name]);
    return candidates.map(num).find((v) => v !== null && v >= 0);
  }

  function vitals(rows) {
    // Only rows that carry attributes can hold a vital: a large trace's
    // rows carry them only when they look like one (trace_compact.py).
    const carrying = rows.filter((r) => r.data && typeof r.data === "object");
    const pageload = rows.find((r) => text(r.op) === "pageload");
    const origin = pageload ? num(pageload.start_timestamp) : null;
    const found = [];
    VITALS.forEach((v) => {
      const source = pageload && vitalValue(pageload, v.name) !== undefined ? pageload : carrying.find((r) => vitalValue(r, v.name) !== undefined);
      if (!source) return;
      const value = vitalValue(source, v.name);
      const rating = value <= v.good ? "good" : value <= v.poor ? "meh" : "poor";
      const at = v.timed && origin !== null ? origin + value / 1000 : null;
      found.push({ name: v.name, value, rating, at, spanIndex: rows.indexOf(source) });
    });
    return found;
  }

  return { build, flatten, reveal, vitals, shape, duration, unpack, addDetails, GAP_MIN, GROUP_MIN };
})();
