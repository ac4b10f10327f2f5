#!/usr/bin/env bash
# Builds the book (book/ → target/book/) with a pinned mdBook, installing it into target/tools/
# from crates.io when it is missing (about two minutes on two cores; the serve and watch
# features are left out). Fails when mdBook warns or errs (a chapter missing from SUMMARY.md, a
# file SUMMARY.md names that does not exist, a broken include) or when a page of the built book
# points at an image or replay that was not copied into it. `cargo test` checks the links of the
# chapters' sources and runs every command the book quotes. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
MDBOOK_VERSION=0.5.4
tools=target/tools
mdbook="$tools/bin/mdbook"
if [ ! -x "$mdbook" ] || [ "$("$mdbook" --version)" != "mdbook v$MDBOOK_VERSION" ]; then
  echo "book: installing mdBook $MDBOOK_VERSION into $tools"
  cargo install --quiet --locked mdbook --version "$MDBOOK_VERSION" \
    --no-default-features --features search --root "$tools"
fi
out=target/book
rm -rf "$out"
log=$("$mdbook" build book -d "$PWD/$out" 2>&1) || { echo "$log"; exit 1; }
if grep -E "WARN|ERROR" <<<"$log"; then
  echo "book: mdBook warned (above)" >&2
  exit 1
fi
# Every local image, replay and page a built page refers to is in the built book.
missing=0
while IFS= read -r page; do
  dir=$(dirname "$page")
  while IFS= read -r target; do
    case "$target" in
      http://*|https://*|mailto:*|data:*|\#*|javascript:*|"") continue ;;
    esac
    file="${target%%#*}"
    file="${file%%\?*}"
    [ -z "$file" ] && continue
    if [ ! -e "$dir/$file" ]; then
      echo "book: $page refers to $target, which is not in the built book" >&2
      missing=1
    fi
  done < <(grep -oE '(src|href)="[^"]*"' "$page" | sed -E 's/^(src|href)="//; s/"$//')
done < <(find "$out" -name '*.html' -not -path '*/replays/*')
[ "$missing" = 0 ] || exit 1
echo "book: built into $out ($(find "$out" -name '*.html' -not -path '*/replays/*' | wc -l) pages)"
