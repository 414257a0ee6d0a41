// A page with the real @sentry/browser calling a service instrumented with
// OpenTelemetry (no Sentry SDK), which continues only a W3C traceparent.
// window.__config: {dsn, backend, traceparent} — traceparent sets the SDK's
// propagateTraceparent, which makes it send traceparent beside sentry-trace.
import * as Sentry from '@sentry/browser';

const cfg = window.__config;

Sentry.init({
  dsn: cfg.dsn,
  environment: 'test',
  tracesSampleRate: 1.0,
  integrations: [Sentry.browserTracingIntegration()],
  tracePropagationTargets: [cfg.backend],
  propagateTraceparent: cfg.traceparent,
});

async function main() {
  const pageload = Sentry.getActiveSpan();
  window.__traceId = pageload.spanContext().traceId;
  const pageloadEnded = new Promise((resolve) => {
    Sentry.getClient().on('spanEnd', (span) => span === pageload && resolve());
  });
  await fetch(`${cfg.backend}/api/stock`);
  await pageloadEnded;
  window.__flushed = await Sentry.flush(5000);
  window.__done = true;
}

main();
