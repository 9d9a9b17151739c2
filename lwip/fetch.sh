#!/usr/bin/env bash
# Fetch the pinned lwIP source from Debian's source package into lwip/<dir>, then apply
# our patches (wasm/patches/*.patch, in name order) to the fresh tree.
# No host is named here: the deb-src entry is derived from the machine's own apt sources.
# The verified tarball is kept in lwip/ (git-ignored), so a change to the patches
# re-unpacks and re-patches a clean tree without fetching again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
patches=$(cd "$here/../wasm/patches" 2>/dev/null && pwd || true)
# shellcheck disable=SC1091
. <(grep -E '^[a-z0-9]+=' "$here/VERSION")
dest="$here/$dir"

# The stamp records the tarball digest and the patches applied; it is current only if
# both are what the tree asks for now.
list_patches() {
  [ -n "$patches" ] || return 0
  local p
  for p in "$patches"/*.patch; do [ -f "$p" ] && basename "$p"; done | LC_ALL=C sort
}
stamp() {
  echo "$sha256"
  local p
  for p in $(list_patches); do (cd "$patches" && sha256sum "$p"); done
}
want=$(stamp)
[ -f "$dest/.fetched" ] && [ "$(cat "$dest/.fetched")" = "$want" ] && exit 0

if [ ! -f "$here/$tarball" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if ! ls /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | xargs grep -qs 'deb-src'; then
    echo "fetch.sh: apt has no deb-src entry to fetch lwIP's source from: run \`make setup\` (as root) once, or put $tarball in lwip/" >&2
    exit 1
  fi
  (cd "$tmp" && apt-get source --download-only -qq "$package=${version}-"'*' >/dev/null 2>&1 \
    || apt-get source --download-only -qq "$package" >/dev/null)
  cp "$tmp/$tarball" "$here/$tarball.part" && mv "$here/$tarball.part" "$here/$tarball"
fi

actual=$(sha256sum "$here/$tarball" | cut -d' ' -f1)
if [ "$actual" != "$sha256" ]; then
  rm -f "$here/$tarball"
  echo "fetch.sh: sha256 mismatch for $tarball: got $actual, pinned $sha256" >&2
  exit 1
fi
rm -rf "$dest"
tar -xf "$here/$tarball" -C "$here"
n=0
for p in $(list_patches); do
  # git apply works outside a repository and refuses a patch that does not apply
  # cleanly, so a patch that drifted from the pinned tree fails the build here.
  (cd "$dest" && git apply --whitespace=nowarn -p1 "$patches/$p") \
    || { echo "fetch.sh: patch $p does not apply to lwIP $version" >&2; rm -rf "$dest"; exit 1; }
  n=$((n + 1))
done
echo "$want" > "$dest/.fetched"
echo "lwIP $version unpacked into lwip/$dir (sha256 verified), $n patches applied"
