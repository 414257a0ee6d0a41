// The replay test page: the real @sentry/browser with the replay integration
// recording only once an error happens (replaysOnErrorSampleRate: 1), as the
// issue's apps do. Bundled by esbuild at test time; its config comes from
// window.__config, written by the harness into the HTML.
import * as Sentry from '@sentry/browser';

const cfg = window.__config;

Sentry.init({
  dsn: cfg.dsn,
  release: 'web@1.0.0',
  environment: 'test',
  tracesSampleRate: 1.0,
  replaysSessionSampleRate: 0,
  replaysOnErrorSampleRate: 1.0,
  integrations: [
    Sentry.browserTracingIntegration(),
    Sentry.replayIntegration({ maskAllText: false, blockAllMedia: false }),
  ],
  tracePropagationTargets: [cfg.backend],
});

// The test clicks #buy: a fetch to the backend (a traced request, which the
// replay records as a performanceSpan), then an uncaught error, which turns
// the buffered replay into one that is sent.
document.getElementById('buy').addEventListener('click', async () => {
  await fetch(`${cfg.backend}/api/orders`);
  window.__fetched = true;
  setTimeout(() => {
    throw new Error('checkout failed');
  }, 0);
});

const loaded = Date.now();

// Called by the test once the error has happened: the replay's segments
// are uploaded, then everything else the SDK holds. The Replay SDK sends
// nothing for a replay younger than minReplayDuration (5 s, counted from the
// page's load for a buffered replay): wait until it is old enough.
window.__flushAll = async () => {
  const age = Date.now() - loaded;
  if (age < 5500) await new Promise((resolve) => setTimeout(resolve, 5500 - age));
  await Sentry.getReplay()?.flush();
  const flushed = await Sentry.flush(5000);
  return { flushed, replayId: Sentry.getReplay()?.getReplayId() ?? null };
};
