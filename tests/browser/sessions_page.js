// A page with the real @sentry/browser's default release health: one
// session per page load. window.__config: {dsn, user, crash}.
import * as Sentry from '@sentry/browser';

const cfg = window.__config;

Sentry.init({ dsn: cfg.dsn, release: 'shop@1.0.0', environment: 'e2e' });
Sentry.setUser({ id: cfg.user });

async function main() {
  // Let the SDK send the session's init update first (it does when the page
  // is idle), as a real page does before a user's click fails.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  if (cfg.crash) {
    setTimeout(() => {
      throw new Error('checkout crashed');
    }, 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  window.__flushed = await Sentry.flush(5000);
  window.__done = true;
}

main();
