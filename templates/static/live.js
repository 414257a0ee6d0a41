// Live pages: what the collector stores appears without a reload.
//
// LiveFeed.connect follows /api/live (Server-Sent Events). EventSource
// reconnects by itself and sends Last-Event-ID; when it gives up (the
// collector answered an error while restarting) a new one resumes with
// ?after=<last id>, so nothing stored meanwhile is missed.
//
// A list page (#live-bar + #live-list) does not build rows itself: on an
// event it fetches its own URL with ?fragment=list, rendered by the same
// server partial as the page, and merges the rows by data-key: new keys go on
// top, known ones are replaced. Data is never put in HTML by this script.
(function () {
  "use strict";
  const KINDS = ["segment", "spans", "error", "log", "replay", "session", "finding", "more"];
  const RETRY_MS = 1000;

  // onEvent(kind, data) for each event (kind "reconnected" after a gap);
  // onState("live" | "reconnecting") as the connection changes.
  function connect(query, onEvent, onState) {
    let lastId = null, source = null, broken = false;
    function open() {
      const after = lastId ? "&after=" + encodeURIComponent(lastId) : "";
      source = new EventSource("/api/live?" + query + after);
      source.addEventListener("ready", (ev) => {
        if (ev.lastEventId) lastId = ev.lastEventId;
        onState("live");
        if (broken) { broken = false; onEvent("reconnected", null); }
      });
      KINDS.forEach((kind) => source.addEventListener(kind, (ev) => {
        if (ev.lastEventId) lastId = ev.lastEventId;
        let data = null;
        try { data = JSON.parse(ev.data); } catch (err) { /* not JSON: the kind alone is enough to refresh */ }
        onEvent(kind, data);
      }));
      source.onerror = () => {
        broken = true;
        onState("reconnecting");
        if (source.readyState === EventSource.CLOSED) setTimeout(open, RETRY_MS);
      };
    }
    open();
  }

  function debounced(fn, ms) {
    let timer = null, again = false;
    return function run() {
      if (timer) { again = true; return; }
      fn();
      timer = setTimeout(() => { timer = null; if (again) { again = false; run(); } }, ms);
    };
  }

  function liveList(bar, list) {
    const stateEl = document.getElementById("live-state");
    const pauseBtn = document.getElementById("live-pause");
    const newBtn = document.getElementById("live-new");
    let paused = false, connection = "live", pending = null;

    const showState = () => {
      stateEl.textContent = connection === "reconnecting" ? "reconnecting…" : paused ? "paused" : "live";
      bar.dataset.state = stateEl.textContent;
    };
    const scrolledDown = () => list.getBoundingClientRect().top < 0;
    const rowsOf = (root) => Array.from(root.querySelectorAll("table.list > tbody > tr[data-key]"));

    function freshRows(fragment) {
      const known = new Set(rowsOf(list).map((r) => r.dataset.key));
      return rowsOf(fragment).filter((r) => !known.has(r.dataset.key));
    }

    function apply(fragment) {
      pending = null;
      newBtn.hidden = true;
      const body = list.querySelector("table.list > tbody");
      const rows = rowsOf(fragment);
      if (!body || !rows.length) { list.replaceChildren(fragment); return; }
      const byKey = new Map(rowsOf(list).map((r) => [r.dataset.key, r]));
      const fresh = [];
      rows.forEach((row) => {
        const old = byKey.get(row.dataset.key);
        if (!old) fresh.push(row);
        else if (old.innerHTML !== row.innerHTML) old.replaceWith(row);
      });
      fresh.forEach((row) => row.classList.add("live-fresh"));
      body.prepend(...fresh);
      ["noise-line"].forEach((id) => {
        const now = fragment.querySelector("#" + id), was = document.getElementById(id);
        if (now && was) was.replaceWith(now);
      });
    }

    function offer(fragment) {
      const count = freshRows(fragment).length;
      pending = fragment;
      newBtn.hidden = count === 0;
      newBtn.textContent = count + " new" + (scrolledDown() ? " ↑" : " — show");
      newBtn.classList.toggle("floating", scrolledDown());
      if (!paused && !scrolledDown()) apply(fragment);
    }

    async function refresh() {
      const url = new URL(location.href);
      url.searchParams.set("fragment", "list");
      const response = await fetch(url, { headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const template = document.createElement("template");
      // The server's own autoescaped rendering of this page's list.
      template.innerHTML = await response.text();
      if (window.showLocalTimes) window.showLocalTimes(template.content);
      offer(template.content);
    }
    const schedule = debounced(() => refresh().catch(() => { /* the next event or reconnect tries again */ }), 300);

    pauseBtn.addEventListener("click", () => {
      paused = !paused;
      pauseBtn.textContent = paused ? "resume" : "pause";
      pauseBtn.setAttribute("aria-pressed", String(paused));
      showState();
      if (!paused && pending && !scrolledDown()) apply(pending);
    });
    newBtn.addEventListener("click", () => {
      if (pending) apply(pending);
      if (scrolledDown()) list.scrollIntoView({ block: "start" });
    });
    window.addEventListener("scroll", () => { if (pending && !paused && !scrolledDown()) apply(pending); }, { passive: true });

    const query = "kinds=" + encodeURIComponent(bar.dataset.kinds) + (bar.dataset.feedQuery ? "&" + bar.dataset.feedQuery : "");
    connect(query, () => schedule(), (state) => { connection = state; showState(); });
    showState();
  }

  window.LiveFeed = { connect, debounced };
  const bar = document.getElementById("live-bar"), list = document.getElementById("live-list");
  if (bar && list) liveList(bar, list);
})();
