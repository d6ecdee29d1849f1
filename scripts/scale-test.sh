#!/usr/bin/env bash
# npm run test:scale: this package under faye and sockjs run as several processes.
#
#   1. redis-server (Debian's package; installed with apt-get when missing)
#   2. a copy of this package with its local build (faye-websocket-native.<platform>.node
#      from `npm run build`), and a fresh project that installs faye, faye-redis,
#      sockjs, sockjs-client and eventsource from the registry with
#      "overrides": { "faye-websocket": "file:<that copy>" }
#   3. scripts/scale-test/faye.js: two faye processes sharing a Redis through faye-redis,
#      a WebSocket subscriber on one and an EventSource subscriber on the other, messages
#      published through either reaching both in order, each process killed and
#      restarted while its subscriber reconnects
#   4. scripts/scale-test/sockjs.js: two sockjs processes behind a sticky balancer, a
#      client that loses its process and reconnects to the other one
#
# Needs the npm registry, and Debian's packages when redis-server is missing. Each script
# starts its own redis-server and servers on free loopback ports and stops them. Ends
# with "N passed, M failed"; exits non-zero when anything failed. The work directory is
# kept when something failed.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
START=$(date +%s)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/scale-test.XXXXXX")"
PASSED=0
FAILED=0

pass() { echo "ok - $1"; PASSED=$((PASSED + 1)); }
fail() { echo "not ok - $1"; FAILED=$((FAILED + 1)); }
section() { echo; echo "== $*"; }

finish() {
  trap - EXIT
  echo
  echo "scale-test: $(( $(date +%s) - START ))s"
  if [ "$FAILED" -eq 0 ]; then
    rm -rf "$WORK"
  else
    echo "scale-test: logs and the project kept in $WORK"
  fi
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
trap finish EXIT

# node_script SCRIPT: runs scripts/scale-test/SCRIPT inside the project (so that require()
# resolves there) and adds the ok / not ok lines it prints.
node_script() {
  local script="$1" log rc p f
  log="$WORK/$script.log"
  (cd "$APP" && TMPDIR="$WORK/tmp" timeout 180 node "$script") > "$log" 2>&1
  rc=$?
  cat "$log"
  p=$(grep -c '^ok - ' "$log")
  f=$(grep -c '^not ok - ' "$log")
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail "$script exited with $rc"; fi
}

# -- 1. redis-server -------------------------------------------------------------------
section "redis-server"
if ! command -v redis-server > /dev/null; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "scale-test: installing Debian's redis-server"
  if ! { $SUDO nice -n 10 apt-get update -qq && \
         DEBIAN_FRONTEND=noninteractive $SUDO nice -n 10 apt-get install -y -qq redis-server; } > "$WORK/apt.log" 2>&1; then
    tail -n 20 "$WORK/apt.log"
  fi
fi
if command -v redis-server > /dev/null; then
  pass "redis-server: $(redis-server --version | cut -d' ' -f3)"
else
  fail "redis-server is not installed and could not be installed with apt-get"
  exit 1
fi

# -- 2. the project --------------------------------------------------------------------
section "a project installing faye, faye-redis, sockjs and sockjs-client with faye-websocket overridden"
BINARY="$(ls faye-websocket-native.*.node 2> /dev/null | head -n 1)"
if [ -z "$BINARY" ]; then
  fail "no local build (faye-websocket-native.<platform>.node): run npm run build first"
  exit 1
fi
# A copy holding what the published package holds plus the local build, which
# lib/native.js loads first: the project then runs the code of this work tree without
# seeing its node_modules (where faye-websocket itself is a dev dependency).
PKG="$WORK/faye-websocket-native"
mkdir -p "$PKG" "$WORK/tmp"
cp -R package.json index.js index.d.ts lib "$BINARY" "$PKG/"
APP="$WORK/app"
mkdir -p "$APP"
# faye-redis 0.2.0 asks for any `redis` and uses the callback API that redis 4 removed.
node -e '
  const [file, pkg] = process.argv.slice(1)
  require("fs").writeFileSync(file, JSON.stringify({
    name: "scale-app",
    version: "1.0.0",
    private: true,
    dependencies: {
      "faye": "^1.4.3",
      "faye-redis": "^0.2.0",
      "redis": "^3.1.2",
      "eventsource": "^2.0.2",
      "sockjs": "^0.3.24",
      "sockjs-client": "^1.6.1"
    },
    overrides: {
      "faye-websocket": "file:" + pkg,
      "redis": "$redis"
    }
  }, null, 2))
' "$APP/package.json" "$PKG"
# --ignore-scripts: the copy's `prepare` would build the addon again; none of the
# registry packages has an install script.
if (cd "$APP" && timeout 600 nice -n 10 npm install --ignore-scripts --no-audit --no-fund) > "$WORK/install.log" 2>&1; then
  pass "npm install"
else
  tail -n 30 "$WORK/install.log"
  fail "npm install"
  exit 1
fi
LS="$(cd "$APP" && npm ls faye-websocket 2> /dev/null)"
echo "$LS"
if grep -q 'faye-websocket@npm:faye-websocket-native@' <<< "$LS" && ! grep -E 'faye-websocket@[0-9]' <<< "$LS" > /dev/null; then
  pass "npm ls faye-websocket shows faye-websocket-native for every copy"
else
  fail "npm ls faye-websocket"
fi
cp scripts/scale-test/*.js scripts/pack-test/check.js "$APP/"

# -- 3. faye + faye-redis ----------------------------------------------------------------
section "faye: two processes on one Redis"
node_script faye.js

# -- 4. sockjs -------------------------------------------------------------------------
section "sockjs: two processes behind a sticky balancer"
node_script sockjs.js
