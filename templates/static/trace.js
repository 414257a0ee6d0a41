// The trace waterfall: a virtualised list, so 10,000 spans stay smooth.
// trace_model.js decides which rows show, trace_search.js what matches,
// trace_details.js fills the pane; this file draws and wires the keys.
// Every piece of event data is written with textContent, never as HTML, and
// may be of any JSON type: text() and num() make it what the code expects.
(function () {
  "use strict";
  const ROW_H = 26;
  const text = (v) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
  const num = (v) => (typeof v === "number" && isFinite(v) ? v : null);
  const { fmtDuration, plural, TraceModel, TraceSearch, TraceDetails } = window;
  const el = TraceDetails.el;
  // The trace's data: the page's, then what trace_live.js fetches as late spans arrive.
  let data, rows, start, duration, model, firstOrphan;
  let allDetails = null; // every span's tags and attributes, once a search asked for them
  function setData(d) {
    data = d && typeof d === "object" ? d : {};
    rows = TraceModel.unpack(data);
    allDetails = null;
    start = num(data.start) || 0;
    duration = num(data.duration) || 0.001;
    model = TraceModel.build(rows);
    firstOrphan = rows.findIndex((r) => r.orphan);
  }
  setData(JSON.parse(document.getElementById("trace-data").textContent));
  const $ = (id) => document.getElementById(id);
  const viewport = $("viewport"), spacer = $("spacer"), rowsEl = $("rows"), details = $("details");
  const state = { collapsed: new Set(), openGroups: new Set(), sortBy: "start" };
  let visible = [];
  let matches = [], matchSet = new Set(), matchCursor = -1;
  let selected = null, cursor = -1;
  const pct = (t) => ((t - start) / duration) * 100;

  // One colour per service, the same on every page: a hash of its key, as the
  // trace list's `service_colour` filter computes it.
  function colourOf(key) {
    let h = 0;
    for (const ch of text(key)) h = (h * 31 + ch.codePointAt(0)) % 1000003;
    return "c" + (h % 8);
  }

  function computeVisible() {
    visible = TraceModel.flatten(model, rows, state);
    spacer.style.height = visible.length * ROW_H + "px";
    // Short traces get a short box; long ones scroll inside 70% of the window.
    viewport.style.height = Math.min(visible.length * ROW_H + 2, Math.max(300, window.innerHeight * 0.7)) + "px";
  }

  // The duration label sits right of a bar, or, near the axis' end, inside a
  // wide bar or left of a narrow one: never past the waterfall's edge.
  function addBar(track, s, e, cls, label) {
    const bar = el("div", "bar " + cls);
    bar.style.left = pct(s) + "%";
    bar.style.width = Math.max(0.15, pct(e) - pct(s)) + "%";
    track.appendChild(bar);
    const dur = el("span", "dur", label);
    if (pct(e) <= 60) dur.style.left = pct(e) + "%";
    else if (pct(e) - pct(s) > 30) { dur.style.right = 100 - pct(e) + "%"; dur.classList.add("inside"); }
    else { dur.style.right = 100 - pct(s) + "%"; dur.classList.add("before"); }
    track.appendChild(dur);
    return bar;
  }

  function toggleButton(open, label, onClick) {
    const b = el("button", "toggle", open ? "▾" : "▸");
    b.type = "button";
    b.setAttribute("aria-label", label);
    b.addEventListener("click", (ev) => { ev.stopPropagation(); onClick(); });
    return b;
  }

  function spanName(name, r, i) {
    const kids = model.nodes[i].kids.length;
    if (kids) {
      name.appendChild(toggleButton(!state.collapsed.has(i), state.collapsed.has(i) ? "expand" : "collapse", () => toggleRow(i)));
      if (state.collapsed.has(i)) name.appendChild(el("span", "tag kids", plural(model.descendants[i], "span") + " hidden"));
    } else {
      const b = el("button", "toggle", "");
      b.type = "button";
      b.disabled = true;
      name.appendChild(b);
    }
    if (r.orphan) name.appendChild(el("span", "tag orphan-tag", "orphan"));
    if (r.is_segment || r.synthetic) name.appendChild(el("span", "svc " + colourOf(r.service), r.service));
    name.appendChild(el("span", "op", text(r.op) || "span"));
    name.appendChild(el("span", "desc", text(r.description)));
    // Browser SDKs name fetch spans "GET 127.0.0.1": the URL says more.
    if (r.url) name.appendChild(el("span", "url", r.url));
    if (r.user_change) name.appendChild(el("span", "tag user-change", "👤 " + text(r.user_change)));
    if (r.started_trace && typeof r.started_trace === "object") {
      const a = el("a", "tag started-trace", "→ started trace " + text(r.started_trace.trace_id).slice(0, 8) + "…");
      a.href = "/traces/" + encodeURIComponent(text(r.started_trace.trace_id)) + "#span-" + encodeURIComponent(text(r.started_trace.span_id));
      name.appendChild(a);
    }
    r.errors.forEach((e) => {
      const a = el("a", "err", "⚠ " + (text(e.type) || "error") + (e.value ? ": " + text(e.value) : ""));
      a.href = "/events/" + encodeURIComponent(text(e.event_id));
      a.addEventListener("click", (ev) => ev.stopPropagation());
      name.appendChild(a);
    });
    if (r.logs.length) name.appendChild(el("span", "tag logs", plural(r.logs.length, "log")));
  }

  // Errors and logs as ticks at their time on their row.
  function addItemMarks(track, r) {
    r.errors.concat(r.logs).forEach((item) => {
      const at = num(item.at) !== null ? item.at : num(item.timestamp);
      if (at === null) return;
      const isError = r.errors.includes(item);
      const mark = el("span", "mark " + (isError ? "error-mark" : "log-mark"));
      mark.style.left = Math.min(100, Math.max(0, pct(at))) + "%";
      mark.title = (isError ? text(item.type) + ": " + text(item.value) : text(item.level) + " " + text(item.body)) + " at +" + fmtDuration(num(item.timestamp) === null ? null : item.timestamp - start);
      track.appendChild(mark);
    });
  }

  function spanRow(row, item) {
    const i = item.i, r = rows[i];
    row.id = "span-" + r.span_id;
    row.dataset.index = i;
    row.dataset.spanId = r.span_id;
    row.dataset.parentSpanId = r.parent_span_id || "";
    row.dataset.service = r.service;
    if (r.is_segment) row.classList.add("segment");
    if (r.synthetic) row.classList.add("synthetic");
    if (r.orphan) row.classList.add("orphan");
    if (r.errors.length) row.classList.add("has-error");
    if (item.inGroup) row.classList.add("in-group");
    if (matchSet.has(i)) row.classList.add("match");
    if (matches[matchCursor] === i) row.classList.add("current-match");
    if (selected === i) row.classList.add("selected");
    if (i === firstOrphan) row.classList.add("first-orphan");
    const name = el("div", "name");
    name.style.paddingLeft = 6 + item.depth * 14 + "px";
    spanName(name, r, i);
    const track = el("div", "track");
    const s = num(r.start_timestamp), e = num(r.timestamp);
    if (s !== null && e !== null) {
      const label = fmtDuration(TraceModel.duration(r)) + (r.status && r.status !== "ok" ? " · " + text(r.status) : "");
      const bar = addBar(track, s, e, colourOf(r.service), label);
      if (r.status && r.status !== "ok") bar.classList.add("not-ok");
    }
    addItemMarks(track, r);
    row.append(name, track);
    row.addEventListener("click", () => select(i));
  }

  function groupRow(row, item) {
    const first = rows[item.members[0]];
    const open = state.openGroups.has(item.key);
    row.classList.add("group-row");
    row.dataset.group = item.key;
    row.dataset.count = item.members.length;
    const name = el("div", "name");
    name.style.paddingLeft = 6 + item.depth * 14 + "px";
    name.appendChild(toggleButton(open, open ? "collapse group" : "expand group", () => toggleGroup(item.key)));
    name.appendChild(el("span", "op", text(first.op) || "span"));
    name.appendChild(el("span", "desc", TraceModel.shape(first.description)));
    name.appendChild(el("span", "tag count", "×" + item.members.length));
    const track = el("div", "track");
    if (item.start !== null && item.end !== null) addBar(track, item.start, item.end, "group-bar " + colourOf(first.service), plural(item.members.length, "similar span"));
    row.append(name, track);
    row.addEventListener("click", () => toggleGroup(item.key));
  }

  function gapRow(row, item) {
    row.classList.add("gap-row");
    const name = el("div", "name", "missing instrumentation");
    name.style.paddingLeft = 6 + item.depth * 14 + 18 + "px";
    name.title = "Nothing in this segment ran for " + fmtDuration(item.end - item.start) + ": add a span around this code to see it.";
    const track = el("div", "track");
    addBar(track, item.start, item.end, "gap-bar", fmtDuration(item.end - item.start));
    row.append(name, track);
  }

  function renderRow(v) {
    const item = visible[v];
    const row = el("div", "row");
    row.style.top = v * ROW_H + "px";
    row.dataset.depth = item.depth;
    row.dataset.kind = item.kind;
    if (v === cursor) row.classList.add("cursor");
    ({ span: spanRow, group: groupRow, gap: gapRow })[item.kind](row, item);
    return row;
  }

  function render() {
    const first = Math.max(0, Math.floor(viewport.scrollTop / ROW_H) - 10);
    const last = Math.min(visible.length, first + Math.ceil(viewport.clientHeight / ROW_H) + 20);
    const frag = document.createDocumentFragment();
    for (let v = first; v < last; v++) frag.appendChild(renderRow(v));
    rowsEl.replaceChildren(frag);
  }

  const redraw = () => { computeVisible(); render(); };
  function toggleRow(i) { state.collapsed.has(i) ? state.collapsed.delete(i) : state.collapsed.add(i); redraw(); }
  function toggleGroup(key) { state.openGroups.has(key) ? state.openGroups.delete(key) : state.openGroups.add(key); redraw(); }

  function drawAxis() {
    const axis = $("axis");
    const ticks = el("div", "ticks");
    for (let k = 0; k <= 4; k++) {
      const t = el("span", "tick", fmtDuration((duration * k) / 4));
      t.style.left = k * 25 + "%";
      ticks.appendChild(t);
    }
    (data.gaps || []).forEach((g) => {
      const gap = el("span", "gap");
      gap.title = "no span running for " + fmtDuration(g.duration);
      gap.style.left = pct(g.start) + "%";
      gap.style.width = (num(g.duration) / duration) * 100 + "%";
      ticks.appendChild(gap);
    });
    drawVitals(ticks);
    axis.appendChild(ticks);
  }

  // LCP, FCP, TTFB at their time after the pageload started; INP and CLS,
  // which are no moment, beside the axis. Coloured by Google's thresholds.
  function drawVitals(ticks) {
    const strip = $("vitals");
    TraceModel.vitals(rows).forEach((v) => {
      const value = v.name === "cls" ? String(Math.round(v.value * 1000) / 1000) : fmtDuration(v.value / 1000);
      const label = v.name.toUpperCase() + " " + value;
      const title = label + ": " + { good: "good", meh: "needs improvement", poor: "poor" }[v.rating];
      if (v.at !== null) {
        const mark = el("span", "vital vital-" + v.name + " " + v.rating, v.name.toUpperCase());
        mark.style.left = Math.min(100, Math.max(0, pct(v.at))) + "%";
        mark.title = title;
        ticks.appendChild(mark);
      }
      if (strip) {
        const chip = el("span", "vital-chip vital-" + v.name + " " + v.rating, label);
        chip.title = title;
        strip.appendChild(chip);
      }
    });
  }

  function loadAllDetails() {
    if (!allDetails) {
      const forRows = rows;
      // The page's own ?offset= and ?limit=: the details of the spans it shows.
      allDetails = TraceDetails.fetch(data.trace_id, location.search).then((d) => { if (rows === forRows) TraceModel.addDetails(rows, d, true); });
      allDetails.catch(() => { allDetails = null; });
    }
    return allDetails;
  }

  // The pane shows the row at once; a large trace's tags and attributes follow.
  function showDetails(note) {
    if (selected === null) return;
    const r = rows[selected];
    const loading = r.hasDetails ? null : "Loading tags and attributes…";
    TraceDetails.show($("details-body"), r, { trace_id: data.trace_id, start, note: note || loading });
    if (!loading || note) return;
    const forRows = rows;
    TraceDetails.fetch(data.trace_id, "?span_id=" + encodeURIComponent(r.span_id)).then(
      (d) => { if (rows !== forRows) return; TraceModel.addDetails([r], d, true); if (rows[selected] === r) showDetails(); },
      () => { if (rows[selected] === r) showDetails("Could not load its tags and attributes: reload the page to try again."); },
    );
  }

  function select(i) {
    selected = i;
    const v = visible.findIndex((it) => it.kind === "span" && it.i === i);
    if (v >= 0) cursor = v;
    showDetails();
    details.hidden = false;
    render();
  }

  function closeDetails() { details.hidden = true; selected = null; render(); }

  function scrollToRow(i) {
    TraceModel.reveal(model, state, i);
    computeVisible();
    const v = visible.findIndex((it) => it.kind === "span" && it.i === i);
    viewport.scrollTop = Math.max(0, v * ROW_H - viewport.clientHeight / 3);
    render();
  }

  // Terms a row answers match at once; free text and attribute keys on a
  // large trace match again, cursor kept, once every span's details are in.
  function runSearch(keepCursor) {
    const box = $("span-search"), count = $("search-count");
    const q = box.value.trim();
    const found = q ? TraceSearch.search(rows, q, TraceModel.duration) : { matches: [] };
    const current = matches[matchCursor];
    matches = found.matches || [];
    matchSet = new Set(matches);
    matchCursor = keepCursor ? matches.indexOf(current) : -1;
    const partial = Boolean(q && !found.error && TraceSearch.needsDetails(q) && !rows.every((r) => r.hasDetails));
    const counted = matchCursor >= 0 ? matchCursor + 1 + " of " + matches.length : plural(matches.length, "match", "matches");
    count.textContent = found.error ? found.error : q ? counted + (partial ? " so far, searching attributes…" : "") : "";
    if (partial) {
      loadAllDetails().then(
        () => { if (box.value.trim() === q) runSearch(true); },
        () => { count.textContent = counted + " (attributes could not be loaded)"; },
      );
    }
    render();
  }

  function wireSearch() {
    const box = $("span-search"), count = $("search-count");
    box.addEventListener("input", () => runSearch(false));
    const step = (by) => {
      if (!matches.length) return;
      matchCursor = (matchCursor + by + matches.length) % matches.length;
      count.textContent = matchCursor + 1 + " of " + matches.length;
      scrollToRow(matches[matchCursor]);
    };
    box.addEventListener("keydown", (ev) => {
      if (ev.key !== "Enter") return;
      ev.preventDefault();
      step(ev.shiftKey ? -1 : 1);
    });
    $("search-next").addEventListener("click", () => step(1));
    $("search-prev").addEventListener("click", () => step(-1));
  }

  // Arrows move a cursor through the rows, Enter opens one, Esc closes the pane.
  function wireKeys() {
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") { if (!details.hidden) closeDetails(); return; }
      if (ev.target.closest && ev.target.closest("input, textarea, select")) return;
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        cursor = Math.max(0, Math.min(visible.length - 1, cursor + (ev.key === "ArrowDown" ? 1 : -1)));
        if (cursor * ROW_H < viewport.scrollTop || (cursor + 1) * ROW_H > viewport.scrollTop + viewport.clientHeight) {
          viewport.scrollTop = Math.max(0, cursor * ROW_H - viewport.clientHeight / 2);
        }
        render();
      } else if (ev.key === "Enter" && visible[cursor]) {
        const item = visible[cursor];
        if (item.kind === "span") select(item.i);
        else if (item.kind === "group") toggleGroup(item.key);
      }
    });
  }

  function wireTools() {
    $("expand-all").addEventListener("click", () => { state.collapsed.clear(); model.tops.concat(...model.nodes.map((n) => n.items)).forEach((it) => it.group && state.openGroups.add(it.key)); redraw(); });
    $("collapse-all").addEventListener("click", () => {
      state.openGroups.clear();
      rows.forEach((r, i) => { if (r.depth === 0 && model.nodes[i].kids.length) state.collapsed.add(i); });
      redraw();
    });
    const sort = $("span-sort");
    if (sort) sort.addEventListener("change", () => { state.sortBy = sort.value; redraw(); });
    $("details-close").addEventListener("click", closeDetails);
    // Delegated: the summary holding the button is replaced as late spans arrive.
    document.addEventListener("click", (ev) => {
      const b = ev.target.closest && ev.target.closest("button.copy");
      if (!b) return;
      navigator.clipboard.writeText(b.dataset.copy).then(() => { b.textContent = "copied"; }, () => { b.textContent = "select the id to copy it"; });
    });
    viewport.addEventListener("scroll", () => window.requestAnimationFrame(render));
    window.addEventListener("resize", render);
  }

  function showHash() {
    let wanted = location.hash.startsWith("#span-") ? location.hash.slice(6) : null;
    try { wanted = wanted && decodeURIComponent(wanted); } catch (err) { /* not %-encoded: use it as it is */ }
    const i = wanted ? rows.findIndex((r) => r.span_id === wanted) : -1;
    if (i >= 0) { scrollToRow(i); select(i); }
  }

  // New data for the same trace (late segments, errors, logs): indexes change,
  // so what the user collapsed, opened and selected is carried by span id.
  function replace(d) {
    const idOf = (i) => rows[i] && rows[i].span_id;
    const collapsed = Array.from(state.collapsed, idOf), groups = Array.from(state.openGroups, (k) => idOf(Number(k.slice(1))));
    const chosen = selected === null ? null : idOf(selected);
    setData(d);
    const indexOf = new Map(rows.map((r, i) => [r.span_id, i]));
    state.collapsed = new Set(collapsed.filter((id) => indexOf.has(id)).map((id) => indexOf.get(id)));
    state.openGroups = new Set(groups.filter((id) => indexOf.has(id)).map((id) => "g" + indexOf.get(id)));
    selected = chosen !== null && indexOf.has(chosen) ? indexOf.get(chosen) : null;
    $("axis").replaceChildren();
    $("vitals").replaceChildren();
    drawAxis();
    $("span-search").dispatchEvent(new Event("input"));
    redraw();
    showDetails();
  }
  window.TraceView = { replace };

  drawAxis();
  wireSearch();
  wireKeys();
  TraceDetails.wireResizer(details);
  wireTools();
  redraw();
  window.addEventListener("hashchange", showHash);
  showHash();
  document.body.dataset.waterfall = "ready";
})();
