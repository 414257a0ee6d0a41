/**
 * The phone's half of issue 13's story, run by the real @sentry/react-native
 * under React Native's Jest preset: a session, a login, a checkout whose
 * fetch reaches the FastAPI backend with the trace headers, a handled error
 * and then an uncaught one. With `enableNative: false` the SDK's own JS
 * transport (fetch) sends everything, to the DSN in SENTRY_DSN; the ids the
 * collector should hold are written as JSON to RN_RESULT for pytest.
 *
 *   SENTRY_DSN=… BACKEND_URL=… RN_RESULT=out.json node_modules/.bin/jest
 */
const fs = require('fs');

require('./phone-network');

const { dsn, backend, resultFile } = {
  dsn: process.env.SENTRY_DSN,
  backend: process.env.BACKEND_URL,
  resultFile: process.env.RN_RESULT,
};

// Stands in for React Native's ExceptionsManager (LogBox), the handler the SDK
// wraps and, in development builds, calls after it has captured the error.
let redBox;
const redBoxShown = new Promise(resolve => {
  redBox = resolve;
});
global.ErrorUtils.setGlobalHandler((error, isFatal) => redBox({ message: error.message, isFatal }));

const Sentry = require('@sentry/react-native');
// The SDK's own dependency: on a device the native SDK tracks sessions; with
// enableNative false the JS layer only adds a session integration on web, so
// the app starts one the way that integration does (see the report).
const { startSession, captureSession, getIsolationScope } = require('@sentry/core');

async function api(path, init = {}) {
  const response = await fetch(backend + path, init);
  if (!response.ok) {
    throw new Error(`${path} answered ${response.status}`);
  }
  return response.json();
}

test('the phone reports a session, two traced actions and its errors', async () => {
  expect(dsn && backend && resultFile).toBeTruthy();
  Sentry.init({
    dsn,
    enableNative: false,
    tracesSampleRate: 1,
    release: 'mobile@3.0.0',
    environment: 'test',
    tracePropagationTargets: [backend],
    integrations: [Sentry.reactNativeTracingIntegration()],
  });
  startSession({ ignoreDuration: true });
  captureSession();
  const sessionId = getIsolationScope().getSession().sid;

  const auth = { authorization: 'Bearer token-42' };
  const login = await Sentry.startSpan({ name: 'login', op: 'ui.action' }, async span => {
    await api('/api/login', { method: 'POST', headers: auth });
    return Sentry.spanToJSON(span);
  });
  Sentry.setUser({ id: '42', email: 'ada@example.com' });

  const checkout = await Sentry.startSpan({ name: 'checkout', op: 'ui.action' }, async span => {
    await api('/api/orders', { headers: auth });
    const handledId = Sentry.captureException(new Error('payment declined'));
    return { ...Sentry.spanToJSON(span), handledId };
  });

  // What React Native's bridge does with an exception no JS code caught.
  global.ErrorUtils.reportFatalError(new Error('cart screen crashed'));
  const shown = await redBoxShown;
  expect(shown).toEqual({ message: 'cart screen crashed', isFatal: true });
  const fatalId = Sentry.lastEventId();

  expect(await Sentry.flush(10000)).toBe(true);
  fs.writeFileSync(
    resultFile,
    JSON.stringify({
      sessionId,
      login: { traceId: login.trace_id, spanId: login.span_id },
      checkout: { traceId: checkout.trace_id, spanId: checkout.span_id },
      handledId: checkout.handledId,
      fatalId,
    }),
  );
  await Sentry.close();
});
