#!/bin/sh
# Rebuilds templates/static/vendor from the pinned packages (run by `make player`
# after `npm ci`): the official dist code bundled as one script, its stylesheet,
# and the licences of the packages inside it.
set -eu
cd "$(dirname "$0")"
out=../templates/static/vendor
mkdir -p "$out"
pkg=node_modules/@sentry-internal
./node_modules/.bin/esbuild entry.js --bundle --minify --format=iife --global-name=rrwebPlayer \
  --legal-comments=eof --outfile="$out/rrweb-player.js"
cp "$pkg/rrweb-player/dist/style.css" "$out/rrweb-player.css"
{
  for name in rrweb-player rrweb rrweb-snapshot rrdom; do
    printf '%s %s\n\n' "@sentry-internal/$name" "$(node -p "require('./$pkg/$name/package.json').version")"
    cat "$pkg/$name/LICENSE"
    printf '\n\n'
  done
} >"$out/LICENSES.txt"
