// The details pane: everything about one row, written with textContent only.
window.TraceDetails = (function () {
  "use strict";
  const text = (v) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
  const num = (v) => (typeof v === "number" && isFinite(v) ? v : null);
  const diff = (a, b) => (num(a) === null || num(b) === null ? null : a - b);
  const idPart = (v) => encodeURIComponent(text(v));

  function el(tag, cls, content) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (content !== undefined && content !== null) e.textContent = String(content);
    return e;
  }

  function link(href, label) {
    const a = el("a", null, label);
    a.href = href;
    return a;
  }

  function addPairs(parent, title, obj) {
    if (!obj || typeof obj !== "object" || !Object.keys(obj).length) return;
    parent.appendChild(el("h3", null, title));
    const table = el("table", "kv");
    Object.keys(obj).sort().forEach((k) => {
      if (obj[k] === null || obj[k] === undefined) return;
      const tr = el("tr");
      tr.appendChild(el("th", null, k));
      tr.appendChild(el("td", null, text(obj[k])));
      table.appendChild(tr);
    });
    parent.appendChild(table);
  }

  // What a backend request received: the headers that link it to its caller.
  function addIncoming(body, incoming) {
    if (!incoming || typeof incoming !== "object") return;
    const box = el("div", "incoming");
    box.id = "details-incoming";
    box.appendChild(el("h3", null, "Received sentry-trace / baggage"));
    const table = el("table", "kv");
    ["sentry_trace", "baggage", "traceparent", "trace_id", "parent_span_id", "sampled", "sample_rate", "release", "environment", "transaction"]
      .forEach((k) => {
        if (incoming[k] === null || incoming[k] === undefined) return;
        const tr = el("tr");
        tr.appendChild(el("th", null, k));
        tr.appendChild(el("td", null, text(incoming[k])));
        table.appendChild(tr);
      });
    box.appendChild(table);
    const parent = incoming.parent && typeof incoming.parent === "object" ? incoming.parent : null;
    if (parent && parent.in_trace) box.appendChild(link("#span-" + idPart(parent.span_id), "parent span " + text(parent.span_id) + " (on this trace)"));
    else if (parent) box.appendChild(el("p", "warn", "parent span " + text(parent.span_id) + " is not stored on this trace"));
    else if (!incoming.sentry_trace) box.appendChild(el("p", "warn", "No sentry-trace header arrived: this request started a trace of its own."));
    body.appendChild(box);
  }

  function addLinks(body, r) {
    const started = r.started_trace && typeof r.started_trace === "object" ? r.started_trace : null;
    if (started) body.appendChild(link("/traces/" + idPart(started.trace_id) + "#span-" + idPart(started.span_id),
      "→ backend started trace " + text(started.trace_id).slice(0, 8) + "… instead"));
    const caller = r.called_by && typeof r.called_by === "object" ? r.called_by : null;
    if (caller) body.appendChild(link("/traces/" + idPart(caller.trace_id) + "#span-" + idPart(caller.span_id),
      "called by span " + text(caller.span_id) + " of trace " + text(caller.trace_id).slice(0, 8) + "…"));
  }

  function addItems(body, r, start, fmt) {
    if (r.errors.length) {
      body.appendChild(el("h3", null, "Errors"));
      r.errors.forEach((e) => {
        body.appendChild(link("/events/" + idPart(e.event_id), (text(e.type) || "error") + ": " + text(e.value)));
        body.appendChild(el("br"));
      });
    }
    if (r.logs.length) {
      body.appendChild(el("h3", null, "Logs"));
      const ul = el("ul", "logs");
      r.logs.forEach((l) => ul.appendChild(el("li", null, "+" + fmt(diff(l.timestamp, start)) + " " + text(l.level) + " " + text(l.body))));
      body.appendChild(ul);
    }
  }

  function show(body, r, trace) {
    const fmt = window.fmtDuration;
    body.replaceChildren();
    body.appendChild(el("h2", null, (text(r.op) || "span") + " — " + text(r.description)));
    addLinks(body, r);
    if (trace.note) body.appendChild(el("p", "hint", trace.note));
    if (r.user_change) body.appendChild(el("p", "user-change", "User changed: " + text(r.user_change)));
    addPairs(body, "Span", {
      span_id: r.synthetic ? null : r.span_id,
      parent_span_id: r.parent_span_id,
      segment_id: r.segment_id,
      trace_id: trace.trace_id,
      service: r.service,
      status: r.status,
      duration: fmt(diff(r.timestamp, r.start_timestamp)),
      starts_at: "+" + fmt(diff(r.start_timestamp, trace.start)),
      environment: r.environment,
      release: r.release,
      origin: r.origin,
      orphan: r.orphan ? "yes: parent " + r.parent_span_id + " was never received" : null,
      no_span: r.synthetic ? "this service sent errors or logs but no span" : null,
    });
    addIncoming(body, r.incoming);
    addPairs(body, "User", r.user);
    addPairs(body, "Tags", r.tags);
    addPairs(body, "Data / attributes", r.data);
    addPairs(body, "Dynamic sampling context", r.dsc);
    addItems(body, r, trace.start, fmt);
  }

  // A large trace's page holds no tags or attributes: {span id: details}
  // of one span (?span_id=) or of the page's spans, from the API.
  async function fetchDetails(traceId, query) {
    const url = "/api/traces/" + encodeURIComponent(text(traceId)) + "/details" + query;
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error("details answered " + response.status);
    const body = await response.json();
    return body && body.details && typeof body.details === "object" ? body.details : {};
  }

  // Dragging the divider gives the pane more or less of the width.
  function wireResizer(pane) {
    const handle = document.getElementById("details-resizer");
    if (!handle) return;
    handle.addEventListener("pointerdown", (ev) => {
      handle.setPointerCapture(ev.pointerId);
      const move = (e) => {
        const right = pane.parentElement.getBoundingClientRect().right;
        pane.style.width = Math.min(Math.max(260, right - e.clientX), window.innerWidth * 0.7) + "px";
      };
      handle.addEventListener("pointermove", move);
      handle.addEventListener("pointerup", () => handle.removeEventListener("pointermove", move), { once: true });
    });
  }

  return { show, el, fetch: fetchDetails, wireResizer };
})();
