#!/usr/bin/env bash
# Installs exactly the Debian 12 packages oshin needs to build, test and run.
# Does nothing (and needs no network) when they are all present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  g++ clang-14 clang-format-14 clang-tidy-14 libclang-rt-14-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libprotobuf-dev protobuf-compiler
  libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libsqlite3-dev sqlite3
  libssl-dev libsodium-dev
  # The openssl CLI: the TLS integration tests make a throwaway CA and certificates with it,
  # and docs/OPERATIONS.md uses it to make a certificate.
  openssl
  curl python3
  # Browser tests: Debian's chromium, and Japanese glyphs for their screenshots.
  chromium fonts-ipafont-gothic
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# The browser tests (tests/browser): node + npm unless some node is already on the PATH (a
# machine may carry a newer Node.js that bundles npm; never mix the two).
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
