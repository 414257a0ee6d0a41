// The test page: the real @sentry/browser, bundled by esbuild at test time.
// Its config comes from window.__config, written by the harness into the HTML.
import * as Sentry from '@sentry/browser';

const cfg = window.__config;

Sentry.init({
  dsn: cfg.dsn,
  release: 'web@1.0.0',
  environment: 'test',
  tracesSampleRate: 1.0,
  // A short idle timeout ends the pageload soon after the last fetch.
  integrations: [Sentry.browserTracingIntegration({ idleTimeout: 300 })],
  // Stitching needs the backend's origin here; the "misconfigured" runs
  // leave it out on purpose.
  tracePropagationTargets: cfg.propagate ? [cfg.backend] : ['http://nothing.invalid'],
  traceLifecycle: cfg.lifecycle,
});

async function main() {
  window.__traceId = Sentry.getActiveSpan().spanContext().traceId;
  Sentry.setUser({ id: '42', email: 'ada@example.com' });
  const auth = { Authorization: 'Bearer token-42' };
  await fetch(`${cfg.backend}/api/login`, { method: 'POST', headers: auth });
  await fetch(`${cfg.backend}/api/orders`, { headers: auth });
  // The 500 comes from Starlette's error middleware, outside CORS, so the
  // browser sees a network error, as it would in a real app.
  await fetch(`${cfg.backend}/api/fail`, { headers: auth }).catch(() => null);
  // Uncaught, so the SDK's global handler reports it.
  setTimeout(() => {
    throw new Error('frontend boom');
  }, 0);
  // Let the pageload span end (idle timeout), then send everything.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await Sentry.flush(5000);
  window.__done = true;
}

main();
