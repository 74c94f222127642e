#!/usr/bin/env bash
# Builds the API reference (HTML) from the /// comments of the public headers with Doxygen.
# Any undocumented public declaration or doc-comment error fails the build (docs/Doxyfile.in).
#   scripts/docs.sh [OUT_DIR]    HTML into OUT_DIR/html (default build/docs)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build/docs}
command -v doxygen > /dev/null || bash "$src/scripts/deps.sh" --docs
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(sed -n 's/^project(wick VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
sed -e "s|@WICK_SRC@|$src|g" -e "s|@WICK_DOCS_OUT@|$out|g" -e "s|@WICK_VERSION@|$version|g" \
  "$src/docs/Doxyfile.in" > "$out/Doxyfile"
# A fresh tree: pages of headers since removed must not ship.
rm -rf "$out/warnings.log" "$out/html"
if ! doxygen "$out/Doxyfile"; then
  echo "docs: doxygen failed; warnings:" >&2
  cat "$out/warnings.log" >&2
  exit 1
fi
if [[ -s "$out/warnings.log" ]]; then
  cat "$out/warnings.log" >&2
  echo "docs: $(wc -l < "$out/warnings.log") warning lines" >&2
  exit 1
fi
echo "docs: $out/html/index.html ($(find "$out/html" -name '*.html' | wc -l) pages, no warnings)"
