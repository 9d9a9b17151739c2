#!/usr/bin/env bash
# Fetch the pinned lwIP source from Debian's source package into lwip/<dir>.
# No host is named here: the deb-src entry is derived from the machine's own apt sources.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
. <(grep -E '^[a-z0-9]+=' "$here/VERSION")
dest="$here/$dir"
[ -f "$dest/.fetched" ] && exit 0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -f "$here/$tarball" ]; then
  cp "$here/$tarball" "$tmp/"
else
  if ! ls /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | xargs grep -qs 'deb-src'; then
    [ "$(id -u)" = 0 ] || { echo "fetch.sh: needs root once to add a deb-src entry (or put $tarball in lwip/)" >&2; exit 1; }
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
        > /etc/apt/sources.list.d/lwip-wasm-src.sources
    elif [ -f /etc/apt/sources.list ]; then
      sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/lwip-wasm-src.list
    else
      echo "fetch.sh: no apt source found to derive a deb-src entry from" >&2; exit 1
    fi
    apt-get update -qq
  fi
  (cd "$tmp" && apt-get source --download-only -qq "$package=${version}-"'*' >/dev/null 2>&1 \
    || apt-get source --download-only -qq "$package" >/dev/null)
fi

actual=$(sha256sum "$tmp/$tarball" | cut -d' ' -f1)
if [ "$actual" != "$sha256" ]; then
  echo "fetch.sh: sha256 mismatch for $tarball: got $actual, pinned $sha256" >&2
  exit 1
fi
rm -rf "$dest"
tar -xf "$tmp/$tarball" -C "$here"
touch "$dest/.fetched"
echo "lwIP $version unpacked into lwip/$dir (sha256 verified)"
