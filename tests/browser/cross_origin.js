// A page on an origin other than the collector's: the real @sentry/browser
// reports to the collector (which must work), and the page's own script tries
// to read the collector's API and pages (which must not).
import * as Sentry from '@sentry/browser';

const cfg = window.__config;

Sentry.init({
  dsn: cfg.dsn,
  tracesSampleRate: 1.0,
  traceLifecycle: 'static',
  defaultIntegrations: false,
});

// What the SDK's transport got back for each event it sent: a status code
// when the answer was readable, none when the browser reported a network
// error (a CORS failure looks exactly like that to the SDK).
const sent = [];
Sentry.getClient().on('afterSendEvent', (event, response) => {
  sent.push({ type: event.type || 'event', status: response?.statusCode ?? null });
});

async function read(url, mode) {
  try {
    // No cookies are needed to read the collector: its API has no login.
    const response = await fetch(url, { mode });
    return { type: response.type, status: response.status, body: await response.text() };
  } catch (error) {
    return { error: String(error) };
  }
}

async function main() {
  const reads = {};
  for (const path of cfg.paths) {
    const url = cfg.collector + path;
    reads[path] = { cors: await read(url, 'cors'), opaque: await read(url, 'no-cors') };
  }
  window.__reads = reads;
  window.__eventId = Sentry.captureException(new Error('cross-origin boom'));
  Sentry.startSpan({ name: 'cross-origin checkout', op: 'test' }, () => {
    window.__traceId = Sentry.getActiveSpan().spanContext().traceId;
  });
  window.__flushed = await Sentry.flush(5000);
  window.__sent = sent;
  window.__done = true;
}

main();
