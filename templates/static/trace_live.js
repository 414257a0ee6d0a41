// The trace page, live: when the feed says something of this trace was
// stored (a late backend segment, child spans, an error, a log), the page
// fetches itself again and takes the new waterfall data (TraceView.replace
// keeps what the user opened and selected) and the server-rendered doctor
// panel, summary and tables below. At most one fetch per 500 ms.
(function () {
  "use strict";
  const bar = document.getElementById("trace-live");
  if (!bar || !window.LiveFeed || !window.TraceView) return;
  const stateEl = document.getElementById("live-state");
  // Parts the server renders (autoescaped); the waterfall is drawn from #trace-data.
  const PARTS = ["findings", "trace-summary", "below"];

  async function refresh() {
    const response = await fetch(location.pathname + location.search, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    // An inert document: nothing in it runs.
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = doc.getElementById("trace-data");
    if (!fresh) return;
    PARTS.forEach((id) => {
      const now = doc.getElementById(id), was = document.getElementById(id);
      if (!now || !was) return;
      const part = document.adoptNode(now);
      if (window.showLocalTimes) window.showLocalTimes(part);
      was.replaceWith(part);
    });
    window.TraceView.replace(JSON.parse(fresh.textContent));
    bar.dataset.updates = String(Number(bar.dataset.updates || 0) + 1);
  }

  // One fetch at a time, in order: a slow answer never overwrites a newer one.
  let queue = Promise.resolve();
  const schedule = window.LiveFeed.debounced(() => {
    queue = queue.then(refresh).catch(() => { /* the next event or reconnect tries again */ });
  }, 500);

  // ?noise=1: this trace was opened on purpose, even if its root is a health check.
  const query = "kinds=segment,spans,error,log&noise=1&trace_id=" + encodeURIComponent(bar.dataset.traceId);
  window.LiveFeed.connect(query, schedule, (state) => {
    stateEl.textContent = state === "reconnecting" ? "reconnecting…" : "live";
    bar.dataset.state = stateEl.textContent;
  });
})();
