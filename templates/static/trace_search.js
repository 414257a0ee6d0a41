// Span search, as Sentry's trace view reads it: `key:value` terms (op:,
// description:, sdk:, status:, user:, service:, span:, or any attribute or
// tag), `!` before a term to exclude, `duration:>100ms` / `<` / `>=` / `<=`,
// and the rest as free text matched anywhere. All terms must hold.
window.TraceSearch = (function () {
  "use strict";
  const text = (v) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
  const num = (v) => (typeof v === "number" && isFinite(v) ? v : null);
  const UNITS = { us: 1e-6, "µs": 1e-6, ms: 1e-3, s: 1, m: 60, min: 60, h: 3600 };
  const TOKEN = /(!?)(?:([A-Za-z_][\w.\-]*):)?("([^"]*)"?|\S+)/g;

  // "100ms" -> 0.1, "1.5s" -> 1.5, "250" -> 0.25 (bare numbers are milliseconds).
  function seconds(value) {
    const m = /^(\d+(?:\.\d+)?)\s*(us|µs|ms|s|min|m|h)?$/i.exec(value);
    return m ? parseFloat(m[1]) * (m[2] ? UNITS[m[2].toLowerCase()] : 1e-3) : null;
  }

  function parse(query) {
    const terms = [], free = [];
    for (const m of String(query).matchAll(TOKEN)) {
      const value = m[4] !== undefined ? m[4] : m[3];
      if (!m[2] && m[1]) terms.push({ neg: true, key: null, value: value.toLowerCase() });
      if (!m[2]) { if (!m[1]) free.push(value); continue; }
      const term = { neg: m[1] === "!", key: m[2].toLowerCase(), value: value.toLowerCase() };
      const cmp = /^(>=|<=|>|<|=)?(.*)$/.exec(value);
      if (term.key === "duration") {
        term.cmp = cmp[1] || "=";
        term.seconds = seconds(cmp[2]);
        if (term.seconds === null) return { error: "duration needs a time, like duration:>100ms" };
      }
      terms.push(term);
    }
    // Free words read as one phrase, as typed: "step 9999" finds that span.
    if (free.length) terms.push({ neg: false, key: null, value: free.join(" ").toLowerCase() });
    return { terms };
  }

  function fieldOf(row, key) {
    switch (key) {
      case "op": return text(row.op);
      case "description": case "desc": case "name": return text(row.description);
      case "sdk": return text(row.sdk && row.sdk.name) + " " + text(row.service);
      case "service": return text(row.service);
      case "status": return text(row.status) || "ok";
      case "user": return text(row.user);
      case "span": case "span_id": case "id": return text(row.span_id);
      case "release": return text(row.release);
      case "environment": case "env": return text(row.environment);
      default: {
        const data = row.data && typeof row.data === "object" ? row.data : {};
        const tags = row.tags && typeof row.tags === "object" ? row.tags : {};
        return key in data ? text(data[key]) : key in tags ? text(tags[key]) : null;
      }
    }
  }

  // Keys every row carries; any other key, and free text, also looks in the
  // span's tags and attributes, which a large trace's page fetches on demand.
  const ROW_KEYS = new Set(["op", "description", "desc", "name", "sdk", "service", "status", "user", "span", "span_id", "id", "release", "environment", "env", "duration"]);

  function needsDetails(query) {
    const parsed = parse(query);
    return !parsed.error && parsed.terms.some((t) => t.key === null || !ROW_KEYS.has(t.key));
  }

  function everything(row) {
    if (row._text === undefined) {
      row._text = [row.op, row.description, row.span_id, row.service, row.status, row.user, row.data || {}, row.tags || {}]
        .map(text).join(" ").toLowerCase();
    }
    return row._text;
  }

  function holds(row, term, duration) {
    if (term.key === null) return everything(row).includes(term.value);
    if (term.key === "duration") {
      const d = duration(row);
      if (d === null) return false;
      const eps = 1e-9;
      return { ">": d > term.seconds, "<": d < term.seconds, ">=": d >= term.seconds - eps, "<=": d <= term.seconds + eps, "=": Math.abs(d - term.seconds) < 5e-4 }[term.cmp];
    }
    const field = fieldOf(row, term.key);
    return field !== null && field.toLowerCase().includes(term.value);
  }

  // Row indexes matching every term, in the rows' order.
  function search(rows, query, duration) {
    const parsed = parse(query);
    if (parsed.error) return parsed;
    const found = [];
    rows.forEach((r, i) => {
      if (parsed.terms.every((t) => holds(r, t, duration) !== t.neg)) found.push(i);
    });
    return { matches: found };
  }

  return { parse, search, seconds, needsDetails };
})();
