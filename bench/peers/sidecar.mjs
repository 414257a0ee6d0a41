// Spotlight's sidecar started as its CLI starts it (setupSpotlight, standalone),
// less two things the benchmark must not have:
// - the CLI (dist/run.js) imports dist/instrument.js, which initialises
//   @sentry/node with Spotlight's own DSN and a trace per request; 4.11.8 has
//   no flag or variable that turns it off, so this script never imports it;
// - the sidecar listens on every interface: listening is pinned to loopback.
// Usage: node sidecar.mjs PORT
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (port, host, ...rest) {
  if (typeof port === "number" && host === undefined) return listen.call(this, port, "127.0.0.1", ...rest);
  return listen.call(this, port, host, ...rest);
};

const { setupSpotlight } = await import("@spotlightjs/spotlight");
await setupSpotlight({ port: Number(process.argv[2]), isStandalone: true });
