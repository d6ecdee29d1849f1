#!/usr/bin/env bash
# scripts/autobahn-client.sh [CASES]
#
# Runs Autobahn|Testsuite in fuzzingserver mode against this package's
# WebSocket.Client (scripts/autobahn-client.js, with permessage-deflate) and fails
# unless every case is OK, INFORMATIONAL or UNIMPLEMENTED with a clean closing
# handshake: zero FAILED and zero NON-STRICT. Last line: "N passed, M failed",
# NON-STRICT counted as failed.
#
# CASES: comma separated case patterns (default: all 517); "-9.*" excludes.
# Environment: AUTOBAHN_SHARED, AUTOBAHN_VENV, TIMEOUT as for autobahn-server.sh;
#   AUTOBAHN_REPORTS  report directory (default: autobahn-reports/client)
#   AUTOBAHN_PORT     port of the fuzzing server (default 9001)
# Exit status: 0 all good, 1 a case FAILED or was NON-STRICT, 2 setup failed or no
# report was written.
set -euo pipefail

say() { echo "autobahn-client.sh: $*"; }
die() { echo "autobahn-client.sh: ERROR: $*" >&2; exit 2; }
# shellcheck source=scripts/autobahn-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/autobahn-lib.sh"

[ $# -le 1 ] || die "usage: scripts/autobahn-client.sh [CASES]"
CASES="${1:-$DEFAULT_CASES}"
OUTDIR="${AUTOBAHN_REPORTS:-$ROOT/autobahn-reports/client}"
PORT="${AUTOBAHN_PORT:-9001}"

setup_suite
mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
SUMMARY="$OUTDIR/summary.txt"

# test-client.sh starts the fuzzing server, runs the client to the end, and summarizes.
set +e
bash "$SHARED/test-client.sh" "$PORT" "$CASES" "$OUTDIR" -- \
  node "$ROOT/scripts/autobahn-client.js" "$PORT" faye-websocket-native | tee "$SUMMARY"
SUITE_RC=${PIPESTATUS[0]}
set -e

[ -f "$OUTDIR/index.json" ] || exit 2
COUNT="$(strict_count "$SUMMARY" "$OUTDIR")" || exit 2
say "reports in $OUTDIR (index.html)"
echo "$COUNT"

if [ "$SUITE_RC" -ne 0 ]; then exit "$SUITE_RC"; fi
FAILED="${COUNT#*, }"; FAILED="${FAILED%% failed}"
[ "$FAILED" = 0 ] || exit 1
