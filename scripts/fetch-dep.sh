#!/usr/bin/env bash
# Fetches a pinned dependency from Debian into DIR/<dir>, as lwip/fetch.sh does for lwIP.
# Usage: scripts/fetch-dep.sh DIR   (DIR holds VERSION; e.g. mbedtls, llhttp)
#   kind=source: the upstream tarball of a source package (apt-get source), verified by
#                its sha256, kept in DIR (git-ignored) and unpacked into DIR/<dir>.
#   kind=binary: files out of a binary package (apt-get download), each verified by its
#                own sha256 (file_<name>=<path in the package> <sha256>), copied flat
#                into DIR/<dir>.
# No host is named here: apt uses the machine's own sources (make setup adds deb-src).
set -euo pipefail
here=$(cd "$1" && pwd)
ver="$here/VERSION"
# shellcheck disable=SC1090
. <(grep -E '^[a-z0-9_]+=' "$ver" | sed -E 's/^(file_[a-z0-9_]+)=(.*)$/\1="\2"/')
dest="$here/$dir"
want=$(sha256sum "$ver" | cut -d' ' -f1)
[ -f "$dest/.fetched" ] && [ "$(cat "$dest/.fetched")" = "$want" ] && exit 0

tmp=$(mktemp -d)
chmod 755 "$tmp"   # apt-get download writes as the _apt user
trap 'rm -rf "$tmp"' EXIT
if [ "$kind" = source ]; then
  if [ ! -f "$here/$tarball" ]; then
    if ! grep -qs 'deb-src' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; then
      echo "fetch-dep.sh: apt has no deb-src entry to fetch $package's source from: run \`make setup\` (as root) once, or put $tarball in $(basename "$here")/" >&2
      exit 1
    fi
    (cd "$tmp" && apt-get source --download-only -qq "$package=${version}-"'*' >/dev/null 2>&1 \
      || apt-get source --download-only -qq "$package" >/dev/null)
    cp "$tmp/$tarball" "$here/$tarball.part" && mv "$here/$tarball.part" "$here/$tarball"
  fi
  actual=$(sha256sum "$here/$tarball" | cut -d' ' -f1)
  if [ "$actual" != "$sha256" ]; then
    rm -f "$here/$tarball"
    echo "fetch-dep.sh: sha256 mismatch for $tarball: got $actual, pinned $sha256" >&2
    exit 1
  fi
  rm -rf "$dest" && mkdir -p "$dest"
  tar -xf "$here/$tarball" -C "$dest" --strip-components=1
else
  (cd "$tmp" && apt-get download -qq "$package" >/dev/null) \
    || { echo "fetch-dep.sh: apt-get download $package failed: run \`make setup\` (as root) once" >&2; exit 1; }
  dpkg-deb -x "$tmp"/*.deb "$tmp/x"
  rm -rf "$dest" && mkdir -p "$dest"
  for var in $(compgen -v | grep '^file_'); do
    read -r path sum <<<"${!var}"
    actual=$(sha256sum "$tmp/x/$path" 2>/dev/null | cut -d' ' -f1 || true)
    if [ "$actual" != "$sum" ]; then
      rm -rf "$dest"
      echo "fetch-dep.sh: $package's $path is not the pinned $package $version (sha256 ${actual:-missing}, pinned $sum)" >&2
      exit 1
    fi
    cp "$tmp/x/$path" "$dest/"
  done
fi
echo "$want" > "$dest/.fetched"
echo "$package $version unpacked into $(basename "$here")/$dir (sha256 verified)"
