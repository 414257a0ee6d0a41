// Drives the real @sentry/node against a collector: node send.mjs DSN [stream|static]
// Prints {"traceId": ...} once everything was flushed.
import * as Sentry from '@sentry/node';

const [dsn, lifecycle = 'stream'] = process.argv.slice(2);

Sentry.init({
  dsn,
  release: 'node-app@1.0.0',
  environment: 'test',
  tracesSampleRate: 1.0,
  traceLifecycle: lifecycle,
});

Sentry.setUser({ id: 'node-user-7', email: 'grace@example.com' });

let traceId;
await Sentry.startSpan({ name: 'checkout', op: 'task' }, async (span) => {
  traceId = span.spanContext().traceId;
  await Sentry.startSpan({ name: 'load cart', op: 'db.query' }, async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
  });
  Sentry.logger.info('checkout started', { cart_items: 3 });
  Sentry.withScope((scope) => {
    // Over 32 KiB, so the transport gzips the body and streams it chunked.
    scope.addAttachment({ filename: 'cart.txt', data: 'cart line\n'.repeat(4000) });
    Sentry.captureException(new Error('payment declined'));
  });
});

Sentry.startSession();
Sentry.endSession();

await Sentry.flush(10000);
console.log(JSON.stringify({ traceId }));
