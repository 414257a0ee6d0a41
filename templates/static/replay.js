// The replay page: fetches the replay's events from /api/replays/{id}, plays
// them in Sentry's rrweb player (vendored, see player/README.md) and lists
// the clicks, navigations, console messages and requests beside it; clicking
// one seeks the player (or a mobile replay's video) to that moment.
// `#t=<seconds>` in the URL (from the replay's start) seeks there on load.
// Everything recorded is untrusted: text goes in through textContent only.
(function () {
  'use strict';

  const Activity = window.ReplayActivity;
  // A replay names every trace it saw; past this many, the rest are not
  // searched for its requests' spans.
  const MAX_TRACES = 20;
  const mount = document.getElementById('player');
  const status = document.getElementById('player-status');
  const list = document.getElementById('replay-activity');
  const replayId = mount.dataset.replayId;
  const started = parseFloat(mount.dataset.started);
  let player = null;

  function el(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function say(message) {
    status.textContent = message;
  }

  function startMs() {
    return player.getReplayer().getMetaData().startTime;
  }

  // Seeks the player, or the video that covers the moment, to `ms` (epoch ms).
  function seek(ms) {
    if (player) {
      player.goto(Math.max(0, ms - startMs()), false);
      return;
    }
    for (const figure of document.querySelectorAll('.replay-video')) {
      const from = parseFloat(figure.dataset.timestamp) * 1000;
      const video = figure.querySelector('video');
      if (!isFinite(from) || ms < from || (isFinite(video.duration) && ms > from + video.duration * 1000)) continue;
      video.currentTime = (ms - from) / 1000;
      figure.scrollIntoView({ block: 'nearest' });
      return;
    }
  }

  function traceLink(trace) {
    const link = el('a', 'trace-link', 'its trace');
    link.href = `/traces/${encodeURIComponent(trace.trace_id)}#span-${encodeURIComponent(trace.span_id)}`;
    link.title = `span ${trace.span_id} of trace ${trace.trace_id}`;
    return link;
  }

  function itemRow(item, origin) {
    const row = el('li', `activity activity-${item.kind}`);
    row.dataset.kind = item.kind;
    const offset = (item.ms - origin) / 1000;
    // A page's navigation timing starts before rrweb's first event: "-316 ms".
    const at = el('button', 'at', `${offset >= 0 ? '+' : ''}${window.fmtDuration(offset)}`);
    at.type = 'button';
    at.title = 'play from here';
    at.addEventListener('click', () => seek(item.ms));
    row.append(at, el('span', 'what', item.kind), ' ');
    const label = el('span', 'label', item.label || item.category);
    label.title = item.url || item.label || item.category;
    row.append(label);
    if (item.status !== undefined && item.status !== null) {
      row.append(' ', el('span', item.status >= 400 ? 'status bad' : 'status', String(item.status)));
    }
    if (typeof item.duration === 'number') row.append(' ', el('span', 'muted', window.fmtDuration(item.duration)));
    if (item.level && item.level !== 'info' && item.level !== 'log') row.append(' ', el('span', 'muted', item.level));
    row.addEventListener('click', (e) => {
      if (e.target.closest('a')) return;
      seek(item.ms);
    });
    return row;
  }

  function showActivity(items, origin) {
    list.replaceChildren(...items.map((item) => itemRow(item, origin)));
    if (!items.length) {
      document.getElementById('activity-hint').textContent =
        'The SDK recorded no clicks, navigations, console messages or requests in this replay.';
    }
  }

  async function fetchJson(url) {
    const response = await fetch(url, { headers: { Accept: 'application/json' } });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return response.json();
  }

  // Links each request to its http.client span, found on the replay's traces.
  async function linkRequests(replay, items) {
    const ids = new Set(Array.isArray(replay.trace_ids) ? replay.trace_ids : []);
    for (const error of Array.isArray(replay.errors) ? replay.errors : []) {
      if (error && typeof error.trace_id === 'string') ids.add(error.trace_id);
    }
    const traces = await Promise.all(
      [...ids].slice(0, MAX_TRACES).map((id) =>
        fetchJson(`/api/traces/${encodeURIComponent(id)}`).catch(() => null),
      ),
    );
    const spans = traces.flatMap((t) => (t && Array.isArray(t.spans) ? t.spans : []));
    Activity.matchSpans(items, spans);
    list.querySelectorAll('li').forEach((row, i) => {
      if (items[i].trace) row.append(' ', traceLink(items[i].trace));
    });
  }

  // The recorded window's shape, from rrweb's meta event (type 4), so the
  // page fills the player; its controls stay on the screen.
  function playerSize(events) {
    const width = Math.max(320, mount.clientWidth || 800);
    const meta = events.find((e) => e.type === 4 && e.data && e.data.width > 0 && e.data.height > 0);
    const ratio = meta ? meta.data.height / meta.data.width : 0.56;
    return { width, height: Math.min(Math.round(width * ratio), Math.round(window.innerHeight * 0.55)) };
  }

  function startPlayer(events) {
    const size = playerSize(events);
    player = new window.rrwebPlayer.Player({
      target: mount,
      props: { events, ...size, autoPlay: false, speedOption: [1, 2, 4, 8] },
    });
  }

  function hashSeconds() {
    const match = /(?:^#|&)t=([0-9.]+)/.exec(window.location.hash);
    return match ? parseFloat(match[1]) : null;
  }

  function seekToHash() {
    const seconds = hashSeconds();
    if (seconds === null || !isFinite(seconds)) return;
    // #t counts from the replay's start (replay_start_timestamp); without one, from the first event.
    const base = isFinite(started) ? started * 1000 : player ? startMs() : NaN;
    if (isFinite(base)) seek(base + seconds * 1000);
  }

  async function main() {
    let replay;
    try {
      replay = await fetchJson(`/api/replays/${encodeURIComponent(replayId)}`);
    } catch (err) {
      say(`The recording could not be loaded (${err.message}). Reload the page; if it persists, see /api/replays/${replayId}.`);
      return;
    }
    const playable = Activity.playableEvents(replay.events);
    const items = Activity.activityItems(replay.events);
    const hasVideos = Array.isArray(replay.videos) && replay.videos.length > 0;
    if (playable.some((e) => e.type === 2) && playable.length >= 2) {
      startPlayer(playable);
      status.textContent = '';
    } else if (hasVideos) {
      status.textContent = '';
    } else {
      say(
        'Nothing to play: no segment holds a full snapshot of the page (rrweb event type 2). ' +
          'The SDK sends one in the first segment; check that segment 0 arrived and decoded.',
      );
    }
    const origin = playable.length ? playable[0].timestamp : isFinite(started) ? started * 1000 : items[0]?.ms;
    showActivity(items, origin);
    seekToHash();
    await linkRequests(replay, items);
    document.body.dataset.replayReady = 'true';
  }

  window.addEventListener('hashchange', seekToHash);
  main();
})();
