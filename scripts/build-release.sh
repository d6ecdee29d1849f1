#!/usr/bin/env bash
# npm run build:release: the prebuilt binary of the faye-websocket-native-linux-x64-gnu
# package, written to npm/linux-x64-gnu/.
#
# It links against glibc 2.17, the baseline of napi-rs's own releases, so that one binary
# loads on every glibc distribution from RHEL/CentOS 7 on; a plain `cargo build` links
# against the build machine's glibc and would refuse to load on anything older. zig
# (PyPI: ziglang) provides the 2.17 symbol set and cargo-zigbuild drives it; when they are
# not on PATH they are installed into target/zig/venv. The build uses its own target
# directory, target/zig, so the development build in target/ and the
# faye-websocket-native.linux-x64-gnu.node beside package.json are left alone.
# The other platforms are built by .github/workflows/release.yml.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

GLIBC_BASELINE=2.17
mkdir -p "${ZIG_TARGET_DIR:-target/zig}"
TARGET_DIR="$(cd "${ZIG_TARGET_DIR:-target/zig}" && pwd)"
BINARY=faye-websocket-native.linux-x64-gnu.node
DEST=npm/linux-x64-gnu

command -v objdump >/dev/null || { echo "build-release: objdump (binutils) is needed to check the glibc baseline" >&2; exit 1; }

have_zig() { command -v zig >/dev/null || python3 -c 'import ziglang' 2>/dev/null; }

if ! command -v cargo-zigbuild >/dev/null || ! have_zig; then
  VENV="$TARGET_DIR/venv"
  if [ ! -x "$VENV/bin/cargo-zigbuild" ] || ! "$VENV/bin/python" -c 'import ziglang' 2>/dev/null; then
    echo "build-release: installing ziglang and cargo-zigbuild from PyPI into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check ziglang cargo-zigbuild
  fi
  # cargo-zigbuild runs `python3 -m ziglang` when there is no zig binary: the venv's python
  # has to come first on PATH.
  export PATH="$VENV/bin:$PATH"
fi

# -x routes the build through cargo-zigbuild, which gives zig the `.2.17` suffix;
# --no-js and --dts keep the generated loader and types out of the work tree (the loader
# that ships is lib/native.js).
node_modules/.bin/napi build --platform --release --strip \
  --target "x86_64-unknown-linux-gnu.$GLIBC_BASELINE" --cross-compile \
  --target-dir "$TARGET_DIR" --output-dir "$TARGET_DIR/out" \
  --no-js --dts binding.d.ts

mkdir -p "$DEST"
cp "$TARGET_DIR/out/$BINARY" "$DEST/$BINARY"

# The highest GLIBC_x.y symbol version the binary needs is the oldest glibc it loads on.
needed="$(objdump -T "$DEST/$BINARY" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/^GLIBC_//' | sort -Vu | tail -n 1)"
echo "build-release: $DEST/$BINARY ($(wc -c < "$DEST/$BINARY") bytes) needs glibc ${needed:-?}"
if [ -z "$needed" ] || [ "$(printf '%s\n%s\n' "$needed" "$GLIBC_BASELINE" | sort -V | tail -n 1)" != "$GLIBC_BASELINE" ]; then
  echo "build-release: ERROR: the binary needs glibc $needed, newer than the $GLIBC_BASELINE baseline" >&2
  exit 1
fi
