// The journey test page: the real @sentry/browser, with the replay
// integration recording only once an error happens. A visitor browses
// anonymously (the backend names it anon-visitor), logs in (the app calls
// Sentry.setUser after the login request, and sends its token from then
// on, so the backend names it 42), then hits an uncaught error.
import * as Sentry from '@sentry/browser';

const cfg = window.__config;

Sentry.init({
  dsn: cfg.dsn,
  release: 'web@1.0.0',
  environment: 'test',
  tracesSampleRate: 1.0,
  replaysSessionSampleRate: 0,
  replaysOnErrorSampleRate: 1.0,
  integrations: [Sentry.browserTracingIntegration(), Sentry.replayIntegration()],
  tracePropagationTargets: [cfg.backend],
});

const loaded = Date.now();

async function main() {
  await fetch(`${cfg.backend}/api/orders`);
  await fetch(`${cfg.backend}/api/login`, { method: 'POST' });
  Sentry.setUser({ id: '42', email: 'ada@example.com' });
  await fetch(`${cfg.backend}/api/orders`, { headers: { Authorization: 'Bearer token-42' } });
  await new Promise((resolve) => {
    setTimeout(() => {
      setTimeout(resolve, 100);
      throw new Error('journey boom');
    }, 0);
  });
  // A buffered replay younger than minReplayDuration (5 s from the page's
  // load) is not sent: wait until it is old enough, then send its segments,
  // then everything else the SDK holds.
  const age = Date.now() - loaded;
  if (age < 5500) await new Promise((resolve) => setTimeout(resolve, 5500 - age));
  await Sentry.getReplay()?.flush();
  window.__replayId = Sentry.getReplay()?.getReplayId() ?? null;
  window.__flushed = await Sentry.flush(5000);
  window.__done = true;
}

main();
