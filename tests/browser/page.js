// The test page: the real @sentry/browser, bundled by esbuild at test time.
// Its config comes from window.__config, written by the harness into the HTML.
import * as Sentry from '@sentry/browser';

const cfg = window.__config;

Sentry.init({
  dsn: cfg.dsn,
  release: 'web@1.0.0',
  environment: 'test',
  tracesSampleRate: 1.0,
  integrations: [Sentry.browserTracingIntegration()],
  // Stitching needs the backend's origin here; the "misconfigured" runs
  // leave it out on purpose.
  tracePropagationTargets: cfg.propagate ? [cfg.backend] : ['http://nothing.invalid'],
  traceLifecycle: cfg.lifecycle,
});

async function main() {
  // The pageload span is active while the page's script runs: the fetches
  // below become its children.
  const pageload = Sentry.getActiveSpan();
  window.__traceId = pageload.spanContext().traceId;
  const pageloadEnded = new Promise((resolve) => {
    Sentry.getClient().on('spanEnd', (span) => span === pageload && resolve());
  });
  const user = { id: '42', email: 'ada@example.com' };
  if (!cfg.loginFirst) Sentry.setUser(user);
  // A logged-in app sends its token on every API call.
  const auth = { Authorization: 'Bearer token-42' };
  await fetch(`${cfg.backend}/api/login`, { method: 'POST', headers: auth });
  if (cfg.loginFirst) {
    // A streamed span takes the user it ends with: let the login fetch's
    // span end (on its resource timing, or 300 ms later) before logging in.
    await new Promise((resolve) => setTimeout(resolve, 500));
    Sentry.setUser(user);
  }
  await fetch(`${cfg.backend}/api/orders`, { headers: auth });
  // The 500 comes from Starlette's error middleware, outside CORS, so the
  // browser sees a network error, as it would in a real app.
  await fetch(`${cfg.backend}/api/fail`, { headers: auth }).catch(() => null);
  // Uncaught, so the SDK's global handler reports it.
  setTimeout(() => {
    throw new Error('frontend boom');
  }, 0);
  // Not ended by hand: with span streaming a fetch span ends only once its
  // resource timing arrives (or 300 ms later), and the idle pageload waits
  // for its children, then its idle timeout (1 s), before it ends.
  await pageloadEnded;
  window.__flushed = await Sentry.flush(5000);
  window.__done = true;
}

main();
