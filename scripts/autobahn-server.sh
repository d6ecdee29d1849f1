#!/usr/bin/env bash
# scripts/autobahn-server.sh [CASES]
#
# Runs Autobahn|Testsuite (fuzzingclient mode) against this package's echo server
# (scripts/autobahn-echo-server.js) and fails unless every case is OK,
# INFORMATIONAL or UNIMPLEMENTED with a clean closing handshake: zero FAILED and
# zero NON-STRICT.
#
#   1. sets up the Python 3 port of the suite in a virtualenv (idempotent;
#      the first run needs network access to PyPI),
#   2. starts the echo server on a free port and waits for its ready line,
#   3. runs ../shared/autobahn/test-server.sh with --strict-close,
#   4. stops the echo server and prints, last, one line "N passed, M failed"
#      in which NON-STRICT cases count as failed.
#
# CASES: comma separated case patterns (default: all 517); "-9.*" excludes.
# Environment:
#   AUTOBAHN_SHARED   directory holding setup.sh, test-server.sh, summarize.py
#                     (default: ../shared/autobahn beside the repository)
#   AUTOBAHN_VENV     virtualenv directory (default: .autobahn-venv in the repository)
#   AUTOBAHN_REPORTS  report directory (default: autobahn-reports/server in the repository)
#   TIMEOUT           seconds the suite may run (default 1800)
#   AGENT             agent name in the report
#   ECHO_ARGS         extra arguments for the echo server, e.g. "--pipe"
# Exit status: 0 all good, 1 a case FAILED or was NON-STRICT (or the echo server
# died), 2 setup failed or no report was written.
set -euo pipefail

say() { echo "autobahn-server.sh: $*"; }
die() { echo "autobahn-server.sh: ERROR: $*" >&2; exit 2; }
# shellcheck source=scripts/autobahn-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/autobahn-lib.sh"

[ $# -le 1 ] || die "usage: scripts/autobahn-server.sh [CASES]"
CASES="${1:-$DEFAULT_CASES}"
OUTDIR="${AUTOBAHN_REPORTS:-$ROOT/autobahn-reports/server}"
export AGENT="${AGENT:-faye-websocket-native}"
READY_SECONDS=20

# 1. The suite. setup.sh only checks when everything is already in place.
setup_suite

# 2. The echo server, on a port the kernel picks (no race for a "free" port).
mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
SERVER_LOG="$OUTDIR/echo-server.log"
# shellcheck disable=SC2086  # ECHO_ARGS is a word list on purpose
node "$ROOT/scripts/autobahn-echo-server.js" 0 ${ECHO_ARGS:-} > "$SERVER_LOG" 2>&1 &
SERVER_PID=$!

stop_server() {
  [ -n "${SERVER_PID:-}" ] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}
trap stop_server EXIT

PORT=
for _ in $(seq $((READY_SECONDS * 10))); do
  PORT="$(sed -n 's|^autobahn echo server listening on ws://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$SERVER_LOG" | head -1)"
  [ -n "$PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$PORT" ]; then
  echo "autobahn-server.sh: echo server did not start; its output:" >&2
  tail -n 30 "$SERVER_LOG" >&2 || true
  kill -0 "$SERVER_PID" 2>/dev/null && die "echo server not listening after ${READY_SECONDS}s"
  die "echo server exited before listening"
fi
say "echo server (pid $SERVER_PID) listening on 127.0.0.1:$PORT"

# 3. The suite against it. Its last line is summarize.py's "N passed, M failed".
SUMMARY="$OUTDIR/summary.txt"
set +e
bash "$SHARED/test-server.sh" "ws://127.0.0.1:$PORT" "$CASES" "$OUTDIR" | tee "$SUMMARY"
SUITE_RC=${PIPESTATUS[0]}
set -e

SERVER_DIED=0
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  SERVER_DIED=1
  echo "autobahn-server.sh: the echo server exited during the run; its output:" >&2
  tail -n 30 "$SERVER_LOG" >&2 || true
fi

# 4. Stop the server, then recount with NON-STRICT as failed.
stop_server
[ -f "$OUTDIR/index.json" ] || exit 2
COUNT="$(strict_count "$SUMMARY" "$OUTDIR")" || exit 2
FAILED="${COUNT#*, }"; FAILED="${FAILED%% failed}"
if [ "$SERVER_DIED" = 1 ] && [ "$FAILED" = 0 ]; then
  FAILED=1
  COUNT="${COUNT%%, *}, 1 failed"
fi
say "reports in $OUTDIR (index.html)"
echo "$COUNT"

if [ "$SUITE_RC" -ne 0 ]; then exit "$SUITE_RC"; fi
[ "$FAILED" = 0 ] || exit 1
