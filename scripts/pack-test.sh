#!/usr/bin/env bash
# npm run test:pack: the package as users get it, installed the way they install it.
#
#   1. npm run build:release: the linux-x64-gnu prebuilt binary (glibc 2.17 baseline)
#   2. npm pack of the main package, in the form `napi pre-publish` publishes it (with
#      the platform packages as optionalDependencies), and of npm/linux-x64-gnu; their
#      contents and sizes
#   3. a fresh project installs both tarballs with npm, install scripts enabled and no
#      cargo or rustc on PATH, and runs the README's server and client examples
#   4. projects that install sockjs + sockjs-client, and faye + eventsource, from the
#      registry with "overrides": { "faye-websocket": <our tarball> }, and do round trips
#      (sockjs over websocket; faye over WebSocket and EventSource)
#
# Needs the npm registry (for sockjs, faye and their dependencies) and, for step 1,
# PyPI unless zig and cargo-zigbuild are installed. PACK_TEST_SKIP_BUILD=1 reuses the
# binary already in npm/linux-x64-gnu/. Ends with "N passed, M failed"; exits non-zero
# when anything failed. The work directory is kept when something failed.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
START=$(date +%s)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pack-test.XXXXXX")"
PASSED=0
FAILED=0

# Packed sizes users download; a tarball past these has picked up something it should not.
MAIN_MAX_BYTES=$((150 * 1024))
PLATFORM_MAX_BYTES=$((3 * 1024 * 1024))

pass() { echo "ok - $1"; PASSED=$((PASSED + 1)); }
fail() { echo "not ok - $1"; FAILED=$((FAILED + 1)); }
section() { echo; echo "== $*"; }

finish() {
  trap - EXIT
  echo
  echo "pack-test: $(( $(date +%s) - START ))s"
  if [ "$FAILED" -eq 0 ]; then
    rm -rf "$WORK"
  else
    echo "pack-test: logs and projects kept in $WORK"
  fi
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
trap finish EXIT

# node_script PROJECT SCRIPT: runs one of scripts/pack-test/*.js inside PROJECT (so that
# require() resolves there) and adds the ok / not ok lines it prints.
node_script() {
  local project="$1" script="$2" log rc p f
  log="$WORK/$(basename "$project")-$script.log"
  cp scripts/pack-test/*.js "$project/"
  (cd "$project" && PATH="$CLEAN_PATH" timeout 120 node "$script") > "$log" 2>&1
  rc=$?
  cat "$log"
  p=$(grep -c '^ok - ' "$log")
  f=$(grep -c '^not ok - ' "$log")
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail "$script exited with $rc"; fi
}

# install_project PROJECT ARGS...: npm install in PROJECT the way a user runs it (scripts
# enabled) with the sanitized PATH; checks that nothing tried to build.
install_project() {
  local project="$1" name
  name="$(basename "$project")"
  shift
  rm -f "$WORK/toolchain-calls.log"
  if (cd "$project" && PATH="$CLEAN_PATH" timeout 600 npm install --no-audit --no-fund "$@") \
      > "$WORK/$name-install.log" 2>&1; then
    pass "$name: npm install (scripts enabled, no cargo or rustc on PATH)"
  else
    tail -n 30 "$WORK/$name-install.log"
    fail "$name: npm install"
    return 1
  fi
  if [ -e "$WORK/toolchain-calls.log" ] || grep -q 'napi build' "$WORK/$name-install.log"; then
    cat "$WORK/toolchain-calls.log" 2>/dev/null
    fail "$name: installing tried to build the addon"
  else
    pass "$name: installing built nothing"
  fi
}

# -- 1. the prebuilt binary ------------------------------------------------------
section "npm run build:release"
BINARY=npm/linux-x64-gnu/faye-websocket-native.linux-x64-gnu.node
if [ "${PACK_TEST_SKIP_BUILD:-}" = 1 ] && [ -f "$BINARY" ]; then
  echo "pack-test: PACK_TEST_SKIP_BUILD=1, using $BINARY as it is"
elif nice -n 10 npm run --silent build:release > "$WORK/build.log" 2>&1; then
  tail -n 1 "$WORK/build.log"
  pass "build:release: linux-x64-gnu binary within the glibc 2.17 baseline"
else
  tail -n 30 "$WORK/build.log"
  fail "build:release"
  exit 1
fi

# -- 2. the tarballs ---------------------------------------------------------------
section "npm pack"
mkdir -p "$WORK/pack" "$WORK/stage"
# --ignore-scripts: `prepare` would rebuild the development binary in the work tree.
npm pack --ignore-scripts --json --pack-destination "$WORK/pack" > "$WORK/pack/main.json" 2> "$WORK/pack/main.err" \
  || { cat "$WORK/pack/main.err"; fail "npm pack (main package)"; exit 1; }
npm pack --ignore-scripts --json --pack-destination "$WORK/pack" ./npm/linux-x64-gnu > "$WORK/pack/platform.json" 2> "$WORK/pack/platform.err" \
  || { cat "$WORK/pack/platform.err"; fail "npm pack (npm/linux-x64-gnu)"; exit 1; }

# check_tarball JSON LABEL MAX_BYTES REQUIRED ALLOWED_REGEX
check_tarball() {
  node - "$@" <<'EOF'
const [json, label, max, required, allowed] = process.argv.slice(2)
const [info] = JSON.parse(require('fs').readFileSync(json, 'utf8'))
const files = info.files.map((f) => f.path).sort()
console.log(`${label}: ${info.filename}, ${info.size} bytes packed, ${info.unpackedSize} unpacked, ${files.length} files:`)
for (const f of info.files) console.log(`  ${String(f.size).padStart(9)}  ${f.path}`)
const problems = []
const pattern = new RegExp(allowed)
for (const f of files) if (!pattern.test(f)) problems.push('unexpected file ' + f)
for (const f of required.split(' ')) if (!files.includes(f)) problems.push('missing ' + f)
if (info.size > Number(max)) problems.push(`${info.size} bytes packed, over the ${max} byte bound`)
if (problems.length) { console.log(problems.map((p) => '  ' + p).join('\n')); process.exit(1) }
EOF
}

# Only the JavaScript API, its types and the docs: no target/, src/, Cargo files,
# tests, scripts, benchmarks or binaries.
if check_tarball "$WORK/pack/main.json" "main package" "$MAIN_MAX_BYTES" \
    "package.json README.md index.js index.d.ts lib/native.js lib/websocket.js lib/client.js lib/eventsource.js" \
    '^(package\.json|README\.md|LICENSE(\.md)?|index\.js|index\.d\.ts|lib/[A-Za-z0-9_-]+\.js)$'; then
  pass "main tarball: contents and size"
else
  fail "main tarball: contents and size"
fi
if check_tarball "$WORK/pack/platform.json" "linux-x64-gnu package" "$PLATFORM_MAX_BYTES" \
    "package.json README.md faye-websocket-native.linux-x64-gnu.node" \
    '^(package\.json|README\.md|faye-websocket-native\.linux-x64-gnu\.node)$'; then
  pass "linux-x64-gnu tarball: contents and size"
else
  fail "linux-x64-gnu tarball: contents and size"
fi

MAIN_TGZ="$WORK/pack/$(node -p "require('$WORK/pack/main.json')[0].filename")"
PLATFORM_TGZ="$WORK/pack/$(node -p "require('$WORK/pack/platform.json')[0].filename")"

# What `napi pre-publish` does before `npm publish` (.github/workflows/release.yml): the
# main package gets every napi target's package as an optionalDependency at its own
# version. The repository leaves them out so that `npm ci` works before they exist on
# the registry.
tar -xzf "$MAIN_TGZ" -C "$WORK/stage"
if node - "$WORK/stage/package/package.json" <<'EOF'
const fs = require('fs')
const { parseTriple } = require('@napi-rs/cli')
const file = process.argv[2]
const pkg = JSON.parse(fs.readFileSync(file, 'utf8'))
pkg.optionalDependencies = {}
for (const triple of pkg.napi.targets) {
  pkg.optionalDependencies[`${pkg.name}-${parseTriple(triple).platformArchABI}`] = pkg.version
}
fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n')
console.log('optionalDependencies: ' + Object.keys(pkg.optionalDependencies).join(', '))
EOF
then
  rm "$MAIN_TGZ"
  (cd "$WORK/stage/package" && npm pack --ignore-scripts --pack-destination "$WORK/pack" > /dev/null 2>&1)
fi
if [ -f "$MAIN_TGZ" ] && tar -xOzf "$MAIN_TGZ" package/package.json | grep -q '"faye-websocket-native-linux-x64-gnu": "'; then
  pass "main tarball in its published form (optionalDependencies added)"
else
  fail "main tarball in its published form (optionalDependencies added)"
  exit 1
fi

# -- 3. a user's project -------------------------------------------------------------
# PATH for everything users run: the build tools are shims that log the call and fail.
mkdir -p "$WORK/bin"
for tool in cargo rustc rustup cargo-zigbuild zig; do
  printf '#!/bin/sh\necho "%s $*" >> "%s/toolchain-calls.log"\nexit 127\n' "$tool" "$WORK" > "$WORK/bin/$tool"
  chmod +x "$WORK/bin/$tool"
done
CLEAN_PATH="$WORK/bin:$(dirname "$(command -v node)"):/usr/local/bin:/usr/bin:/bin"

section "a project installing both tarballs"
APP="$WORK/app"
mkdir -p "$APP"
echo '{ "name": "app", "version": "1.0.0", "private": true }' > "$APP/package.json"
if install_project "$APP" "$MAIN_TGZ" "$PLATFORM_TGZ"; then
  node_script "$APP" readme.js
fi

# -- 4. dependents, with the override --------------------------------------------------
# dependent_project NAME DEPENDENCIES_JSON: a project whose dependencies come from the
# registry, with faye-websocket overridden by our tarball. The platform package is
# overridden by its tarball too, standing in for the registry copy that the published
# main package's optionalDependencies would fetch.
dependent_project() {
  local dir="$WORK/$1"
  mkdir -p "$dir"
  node -e '
    const [file, deps, main, platform] = process.argv.slice(1)
    require("fs").writeFileSync(file, JSON.stringify({
      name: require("path").basename(require("path").dirname(file)),
      version: "1.0.0",
      private: true,
      dependencies: JSON.parse(deps),
      overrides: {
        "faye-websocket": "file:" + main,
        "faye-websocket-native-linux-x64-gnu": "file:" + platform
      }
    }, null, 2))
  ' "$dir/package.json" "$2" "$MAIN_TGZ" "$PLATFORM_TGZ"
}

# npm_ls_check PROJECT: `npm ls faye-websocket`, as the README says to check, shows only
# this package.
npm_ls_check() {
  local out
  out="$(cd "$1" && PATH="$CLEAN_PATH" npm ls faye-websocket 2>/dev/null)"
  echo "$out"
  if grep -q 'faye-websocket@npm:faye-websocket-native@' <<< "$out" \
      && ! grep -E 'faye-websocket@[0-9]' <<< "$out" >/dev/null; then
    pass "$(basename "$1"): npm ls faye-websocket shows faye-websocket-native for every copy"
  else
    fail "$(basename "$1"): npm ls faye-websocket"
  fi
}

section "sockjs with faye-websocket overridden"
dependent_project sockjs '{ "sockjs": "^0.3.24", "sockjs-client": "^1.6.1" }'
if install_project "$WORK/sockjs"; then
  npm_ls_check "$WORK/sockjs"
  node_script "$WORK/sockjs" sockjs.js
fi

section "faye with faye-websocket overridden"
dependent_project faye '{ "faye": "^1.4.3", "eventsource": "^2.0.2" }'
if install_project "$WORK/faye"; then
  npm_ls_check "$WORK/faye"
  node_script "$WORK/faye" faye.js
fi
