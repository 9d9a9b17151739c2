#!/usr/bin/env bash
# One-time machine set-up: the Debian packages this project builds (and, with --test,
# tests) with, and a deb-src entry so lwip/fetch.sh can fetch lwIP's source package.
# Everything that needs root or apt happens here and nowhere else in the build.
# Usage: scripts/setup.sh [--test]. Installs only what is missing; as non-root it says
# what to run instead.
set -euo pipefail

# command:package pairs. Build: emscripten compiles the wasm, xz-utils unpacks lwIP,
# ca-certificates gives lwip-tls.wasm its default trust store (scripts/gen-roots.mjs).
build=(emcc:emscripten xz:xz-utils update-ca-certificates:ca-certificates)
# Tests: Chromium (browser suites, with playwright-core), iproute2 and iputils (TAP and
# network namespaces), curl, socat and iperf (real peers), iperf3 (kernel baseline),
# tshark (reads the capture suite's pcaps), nftables (random loss between namespaces:
# test/tcp-sack.test.mjs, bench/loss.mjs) and ethtool (offloads off on bench/loss.mjs's
# veth pair), openssl (the TLS tests' certificates and s_server).
tests=(openssl:openssl chromium:chromium ip:iproute2 ping:iputils-ping curl:curl socat:socat iperf:iperf iperf3:iperf3 tshark:tshark nft:nftables ethtool:ethtool)

want=("${build[@]}")
[ "${1:-}" = "--test" ] && want+=("${tests[@]}")

missing=()
for pair in "${want[@]}"; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done

has_src() {
  # grep -s: a pattern that matches no file, or a missing sources.list, is not an error
  grep -qs 'deb-src' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list
}
# The source packages fetched at build time (lwIP, Mbed TLS): is each tarball here already?
have_tarball() {
  local here; here=$(cd "$(dirname "$0")/../$1" && pwd)
  # shellcheck disable=SC1090
  . <(grep -E '^[a-z0-9]+=' "$here/VERSION")
  [ -f "$here/$tarball" ]
}
need_src=0
{ have_tarball lwip && have_tarball mbedtls; } || has_src || need_src=1

[ ${#missing[@]} -eq 0 ] && [ $need_src -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  [ ${#missing[@]} -eq 0 ] || echo "setup: missing Debian packages: sudo apt-get install ${missing[*]}" >&2
  [ $need_src -eq 0 ] || echo "setup: lwIP's source needs a deb-src apt entry: run sudo make setup once" >&2
  # Tests that need a missing tool skip and say why, so only the build is fatal.
  for pair in "${build[@]}"; do command -v "${pair%%:*}" >/dev/null || exit 1; done
  [ $need_src -eq 0 ] || exit 1
  exit 0
fi
if [ $need_src -eq 1 ]; then
  # Derived from the machine's own apt source, so no mirror is named here.
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
      > /etc/apt/sources.list.d/lwip-wasm-src.sources
  elif [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/lwip-wasm-src.list
  else
    echo "setup: no apt source found to derive a deb-src entry from" >&2
    exit 1
  fi
fi
src_note=""
[ $need_src -eq 0 ] || src_note=" (and a deb-src entry for lwIP's source)"
echo "setup: installing ${missing[*]:-nothing}$src_note from Debian"
apt-get update -qq
[ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
