/**
 * A phone's networking, in Node. Hermes has no fetch: React Native's
 * Libraries/Network/fetch installs whatwg-fetch, which runs over
 * XMLHttpRequest, which RN backs with its native networking module. The
 * Jest preset mocks that module, so xhr2 (XMLHttpRequest over Node's http)
 * takes its place; everything above it is React Native's own code. The SDK's
 * transport and the app's requests then take the path they take on a
 * device, and the SDK traces them as it does there: by instrumenting XHR
 * (traceXHR), not fetch (traceFetch is off on native).
 */
for (const name of ['fetch', 'Headers', 'Request', 'Response']) {
  delete global[name];
}
global.XMLHttpRequest = require('xhr2');
require('react-native/Libraries/Network/fetch');
