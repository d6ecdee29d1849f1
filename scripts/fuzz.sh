#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS_PER_TARGET seconds (default 10), starting
# from the committed corpus and regression inputs, one target at a time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]
#
# New corpus entries go to a temporary directory, so the work tree stays as it was;
# crash inputs land in fuzz/artifacts/<target>/. Exits non-zero if any target crashed.
# Needs a nightly toolchain (rustup toolchain install nightly); installs cargo-fuzz.

set -u

seconds="${1:-10}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."

# cargo-fuzz needs nightly; with rustup, ask for it whatever the default toolchain is.
cargo=(cargo)
if command -v rustup >/dev/null 2>&1; then
  cargo=(cargo +nightly)
fi

if ! "${cargo[@]}" fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz" >&2
  cargo install cargo-fuzz || exit 1
fi

"${cargo[@]}" fuzz build >/dev/null || { echo "fuzz build failed" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
for target in $("${cargo[@]}" fuzz list); do
  mkdir -p "$work/$target"
  inputs=("fuzz/corpus/$target")
  [ -d "fuzz/regressions/$target" ] && inputs+=("fuzz/regressions/$target")
  log="$work/$target.log"
  if "${cargo[@]}" fuzz run "$target" "$work/$target" "${inputs[@]}" -- \
    -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    verdict=ok
    passed=$((passed + 1))
  else
    verdict=CRASH
    failed=$((failed + 1))
  fi
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  echo "fuzz $target: $verdict (${runs:-0} runs)"
  if [ "$verdict" = CRASH ]; then
    # The panic message and where libFuzzer saved the input.
    grep -A 3 -E "panicked at|^==[0-9]+==ERROR|ERROR: libFuzzer" "$log" | head -n 12
    grep -E "Test unit written to" "$log" | head -n 1
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
