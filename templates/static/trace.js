// The trace waterfall: a virtualised list, so 10,000 spans stay smooth.
// Every piece of event data is written with textContent, never as HTML, and
// may be of any JSON type: text() and num() make it what the code expects.
(function () {
  "use strict";
  const ROW_H = 26;
  const text = (v) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
  const num = (v) => (typeof v === "number" && isFinite(v) ? v : null);
  const diff = (a, b) => (num(a) === null || num(b) === null ? null : a - b);
  // static/duration.js, loaded first: one rule for durations on every page.
  const fmtDuration = window.fmtDuration;
  const data = JSON.parse(document.getElementById("trace-data").textContent);
  const rows = Array.isArray(data.rows) ? data.rows : [];
  rows.forEach((r) => {
    if (!Array.isArray(r.errors)) r.errors = [];
    if (!Array.isArray(r.logs)) r.logs = [];
    r.depth = num(r.depth) || 0;
  });
  const start = num(data.start) || 0;
  const duration = num(data.duration) || 0.001;
  const viewport = document.getElementById("viewport");
  const spacer = document.getElementById("spacer");
  const rowsEl = document.getElementById("rows");
  const details = document.getElementById("details");
  const detailsBody = document.getElementById("details-body");
  const collapsed = new Set();
  let visible = [];
  let matches = new Set();
  let selected = null;

  // Each row's index of its last descendant, for collapsing a subtree.
  const subtreeEnd = new Array(rows.length);
  const stack = [];
  rows.forEach((r, i) => {
    while (stack.length && rows[stack[stack.length - 1]].depth >= r.depth) subtreeEnd[stack.pop()] = i - 1;
    stack.push(i);
  });
  while (stack.length) subtreeEnd[stack.pop()] = rows.length - 1;
  const firstOrphan = rows.findIndex((r) => r.orphan);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }


  function computeVisible() {
    visible = [];
    for (let i = 0; i < rows.length; i++) {
      visible.push(i);
      if (collapsed.has(i)) i = subtreeEnd[i];
    }
    spacer.style.height = visible.length * ROW_H + "px";
    // Short traces get a short box; long ones scroll inside 70% of the window.
    viewport.style.height = Math.min(visible.length * ROW_H + 2, Math.max(300, window.innerHeight * 0.7)) + "px";
  }

  function renderRow(i, top) {
    const r = rows[i];
    const row = el("div", "row");
    row.style.top = top + "px";
    row.id = "span-" + r.span_id;
    row.dataset.index = i;
    row.dataset.spanId = r.span_id;
    row.dataset.parentSpanId = r.parent_span_id || "";
    row.dataset.depth = r.depth;
    row.dataset.service = r.service;
    if (r.is_segment) row.classList.add("segment");
    if (r.orphan) row.classList.add("orphan");
    if (r.errors.length) row.classList.add("has-error");
    if (matches.has(i)) row.classList.add("match");
    if (selected === i) row.classList.add("selected");
    if (i === firstOrphan) row.classList.add("first-orphan");

    const name = el("div", "name");
    name.style.paddingLeft = 6 + r.depth * 14 + "px";
    const hasKids = subtreeEnd[i] > i;
    const toggle = el("button", "toggle", hasKids ? (collapsed.has(i) ? "▸" : "▾") : "");
    toggle.type = "button";
    toggle.disabled = !hasKids;
    toggle.setAttribute("aria-label", collapsed.has(i) ? "expand" : "collapse");
    toggle.addEventListener("click", (ev) => {
      ev.stopPropagation();
      collapsed.has(i) ? collapsed.delete(i) : collapsed.add(i);
      computeVisible();
      render();
    });
    name.appendChild(toggle);
    if (r.orphan) name.appendChild(el("span", "tag orphan-tag", "orphan"));
    if (r.is_segment) name.appendChild(el("span", "svc c" + (r.colour % 8), r.service));
    name.appendChild(el("span", "op", text(r.op) || "span"));
    name.appendChild(el("span", "desc", text(r.description)));
    // Browser SDKs name fetch spans "GET 127.0.0.1": the URL says more.
    const url = r.data && text(r.data["url.full"] || r.data["http.url"] || r.data.url);
    if (url && text(r.op).startsWith("http.client") && !text(r.description).includes(url)) {
      name.appendChild(el("span", "url", url));
    }
    r.errors.forEach((e) => {
      const a = el("a", "err", "⚠ " + (text(e.type) || "error") + (e.value ? ": " + text(e.value) : ""));
      a.href = "/events/" + encodeURIComponent(e.event_id);
      a.addEventListener("click", (ev) => ev.stopPropagation());
      name.appendChild(a);
    });
    if (r.logs.length) name.appendChild(el("span", "tag logs", r.logs.length + " log" + (r.logs.length > 1 ? "s" : "")));
    row.appendChild(name);

    const track = el("div", "track");
    const s = num(r.start_timestamp), e = num(r.timestamp);
    if (s !== null && e !== null) {
      const bar = el("div", "bar c" + (r.colour % 8));
      bar.style.left = ((s - start) / duration) * 100 + "%";
      bar.style.width = Math.max(0.15, ((e - s) / duration) * 100) + "%";
      if (r.status && r.status !== "ok") bar.classList.add("not-ok");
      track.appendChild(bar);
      const label = el("span", "dur", fmtDuration(e - s) + (r.status && r.status !== "ok" ? " · " + text(r.status) : ""));
      // Past 85% of the axis the label goes left of the bar's end, to stay readable.
      const end = ((e - start) / duration) * 100;
      if (end > 85) { label.style.right = 100 - end + "%"; label.classList.add("inside"); } else { label.style.left = end + "%"; }
      track.appendChild(label);
    }
    row.appendChild(track);
    row.addEventListener("click", () => select(i));
    return row;
  }

  function render() {
    const first = Math.max(0, Math.floor(viewport.scrollTop / ROW_H) - 10);
    const last = Math.min(visible.length, first + Math.ceil(viewport.clientHeight / ROW_H) + 20);
    const frag = document.createDocumentFragment();
    for (let v = first; v < last; v++) frag.appendChild(renderRow(visible[v], v * ROW_H));
    rowsEl.replaceChildren(frag);
  }

  function drawAxis() {
    const axis = document.getElementById("axis");
    const ticks = el("div", "ticks");
    for (let k = 0; k <= 4; k++) {
      const t = el("span", "tick", fmtDuration((duration * k) / 4));
      t.style.left = k * 25 + "%";
      ticks.appendChild(t);
    }
    (data.gaps || []).forEach((g) => {
      const gap = el("span", "gap");
      gap.title = "no span running for " + fmtDuration(g.duration);
      gap.style.left = (diff(g.start, start) / duration) * 100 + "%";
      gap.style.width = (g.duration / duration) * 100 + "%";
      ticks.appendChild(gap);
    });
    axis.appendChild(ticks);
  }

  function addPairs(parent, title, obj) {
    if (!obj || typeof obj !== "object" || !Object.keys(obj).length) return;
    parent.appendChild(el("h3", null, title));
    const table = el("table", "kv");
    Object.keys(obj).sort().forEach((k) => {
      if (obj[k] === null || obj[k] === undefined) return;
      const tr = el("tr");
      tr.appendChild(el("th", null, k));
      const v = obj[k];
      tr.appendChild(el("td", null, text(v)));
      table.appendChild(tr);
    });
    parent.appendChild(table);
  }

  function select(i) {
    selected = i;
    const r = rows[i];
    detailsBody.replaceChildren();
    detailsBody.appendChild(el("h2", null, (text(r.op) || "span") + " — " + text(r.description)));
    addPairs(detailsBody, "Span", {
      span_id: r.span_id,
      parent_span_id: r.parent_span_id,
      segment_id: r.segment_id,
      trace_id: data.trace_id,
      service: r.service,
      status: r.status,
      duration: fmtDuration(diff(r.timestamp, r.start_timestamp)),
      starts_at: "+" + fmtDuration(diff(r.start_timestamp, start)),
      environment: r.environment,
      release: r.release,
      origin: r.origin,
      orphan: r.orphan ? "yes: parent " + r.parent_span_id + " was never received" : null,
    });
    addPairs(detailsBody, "User", r.user);
    addPairs(detailsBody, "Tags", r.tags);
    addPairs(detailsBody, "Data / attributes", r.data);
    addPairs(detailsBody, "Dynamic sampling context", r.dsc);
    if (r.errors.length) {
      detailsBody.appendChild(el("h3", null, "Errors"));
      r.errors.forEach((e) => {
        const a = el("a", "err", (text(e.type) || "error") + ": " + text(e.value));
        a.href = "/events/" + encodeURIComponent(e.event_id);
        detailsBody.appendChild(a);
      });
    }
    if (r.logs.length) {
      detailsBody.appendChild(el("h3", null, "Logs"));
      const ul = el("ul", "logs");
      r.logs.forEach((l) => ul.appendChild(el("li", null, "+" + fmtDuration(diff(l.timestamp, start)) + " " + text(l.level) + " " + text(l.body))));
      detailsBody.appendChild(ul);
    }
    details.hidden = false;
    render();
  }

  function scrollTo(i) {
    // Open collapsed ancestors, then bring the row into view.
    for (const c of Array.from(collapsed)) if (c < i && subtreeEnd[c] >= i) collapsed.delete(c);
    computeVisible();
    const v = visible.indexOf(i);
    viewport.scrollTop = Math.max(0, v * ROW_H - viewport.clientHeight / 3);
    render();
  }

  function rowText(r) {
    if (r._text === undefined) {
      r._text = [text(r.op), text(r.description), text(r.span_id), JSON.stringify(r.data || {}), JSON.stringify(r.tags || {})].join(" ").toLowerCase();
    }
    return r._text;
  }

  let matchCursor = -1;
  const searchBox = document.getElementById("span-search");
  searchBox.addEventListener("input", () => {
    const q = searchBox.value.trim().toLowerCase();
    matches = new Set();
    if (q) rows.forEach((r, i) => { if (rowText(r).includes(q)) matches.add(i); });
    document.getElementById("search-count").textContent = q ? matches.size + " match" + (matches.size === 1 ? "" : "es") : "";
    matchCursor = -1;
    render();
  });
  searchBox.addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter" || !matches.size) return;
    ev.preventDefault();
    const list = Array.from(matches);
    matchCursor = (matchCursor + 1) % list.length;
    scrollTo(list[matchCursor]);
  });

  document.getElementById("expand-all").addEventListener("click", () => { collapsed.clear(); computeVisible(); render(); });
  document.getElementById("collapse-all").addEventListener("click", () => {
    rows.forEach((r, i) => { if (r.depth === 0 && subtreeEnd[i] > i) collapsed.add(i); });
    computeVisible();
    render();
  });
  document.getElementById("details-close").addEventListener("click", () => { details.hidden = true; selected = null; render(); });
  document.querySelectorAll("button.copy").forEach((b) => b.addEventListener("click", () => {
    navigator.clipboard.writeText(b.dataset.copy).then(() => { b.textContent = "copied"; }, () => { b.textContent = "select the id to copy it"; });
  }));
  viewport.addEventListener("scroll", () => window.requestAnimationFrame(render));
  window.addEventListener("resize", render);

  drawAxis();
  computeVisible();
  render();
  function showHash() {
    let wanted = location.hash.startsWith("#span-") ? location.hash.slice(6) : null;
    try { wanted = wanted && decodeURIComponent(wanted); } catch (err) { /* not %-encoded: use it as it is */ }
    const i = wanted ? rows.findIndex((r) => r.span_id === wanted) : -1;
    if (i >= 0) { scrollTo(i); select(i); }
  }
  window.addEventListener("hashchange", showHash);
  showHash();
  document.body.dataset.waterfall = "ready";
})();
