// The one thing the replay page needs from Sentry's rrweb player:
// `make player` bundles this into templates/static/vendor/rrweb-player.js,
// where the page finds it as window.rrwebPlayer.Player.
export { Player } from '@sentry-internal/rrweb-player';
