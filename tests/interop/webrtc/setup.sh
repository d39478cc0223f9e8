#!/bin/sh
# Installs the npm packages of the WebRTC console and of the web admin browser test
# (web-admin-driver.js) (package.json: jssip, playwright-core, esbuild) and
# builds the JsSIP browser bundle (jssip.js; JsSIP 3.13 ships CommonJS only) into DIR, then
# prints DIR. DIR: $1, else $EXPHONE_WEBRTC_NODE_DIR, else ~/.cache/exphone/webrtc-node.
# Re-running is cheap: nothing is fetched while package.json is unchanged.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-${EXPHONE_WEBRTC_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/exphone/webrtc-node}}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if ! cmp -s "$here/package.json" "$DIR/package.json" || [ ! -f "$DIR/node_modules/jssip/package.json" ] ||
   [ ! -f "$DIR/node_modules/playwright-core/package.json" ]; then
  cp "$here/package.json" "$DIR/package.json"
  if ! (cd "$DIR" && npm install --no-audit --no-fund --no-package-lock > npm-install.log 2>&1); then
    cat "$DIR/npm-install.log" >&2
    exit 1
  fi
fi
if [ ! -f "$DIR/jssip.js" ] || [ "$DIR/node_modules/jssip/package.json" -nt "$DIR/jssip.js" ]; then
  (cd "$DIR" && ./node_modules/.bin/esbuild node_modules/jssip/lib/JsSIP.js --bundle --format=iife \
     --global-name=JsSIP --platform=browser --log-level=warning --outfile=jssip.js) >&2
fi
echo "$DIR"
