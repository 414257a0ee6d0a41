// captureMessage with attachStacktrace through the real @sentry/node:
// node message.mjs DSN. The SDK sends the message with a made-up exception
// (no type, mechanism.synthetic) carrying the stack.
import * as Sentry from '@sentry/node';

const [dsn] = process.argv.slice(2);

Sentry.init({ dsn, attachStacktrace: true, release: 'node-app@1.0.0' });

Sentry.captureMessage('node worker finished');
Sentry.captureMessage('disk almost full', 'warning');

await Sentry.flush(10000);
console.log(JSON.stringify({ sent: 2 }));
