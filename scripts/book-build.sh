#!/usr/bin/env bash
# Builds the book (book/ → target/book/) with a pinned mdBook and two pinned preprocessors,
# installing them into target/tools/ from crates.io when they are missing (about four minutes on
# two cores; mdBook's serve and watch features are left out):
# - mdbook-katex renders the chapters' $…$ and $$…$$ formulas to MathML at build time, which
#   browsers draw without any script, stylesheet or font from the network;
# - mdbook-mermaid turns ```mermaid blocks into diagrams, drawn in the page by the Mermaid script it
#   carries, which this script copies in beside book.toml (those two .js files are not committed).
# Fails when mdBook or a preprocessor warns or errs (a chapter missing from SUMMARY.md, a file
# SUMMARY.md names that does not exist, a broken include, a formula KaTeX cannot parse), when a page
# of the built book points at an image, page or replay that was not copied into it, or when a page
# would load a script, stylesheet, font or image from the network (the book must read offline).
# `cargo test` checks the links of the chapters' sources and runs every command the book quotes.
# Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
MDBOOK_VERSION=0.5.4
KATEX_VERSION=0.10.0
MERMAID_VERSION=0.17.1
tools=target/tools
mdbook="$tools/bin/mdbook"
# install NAME VERSION [cargo install options…], unless the binary there already is that version.
install() {
  local name=$1 version=$2
  shift 2
  if [ -x "$tools/bin/$name" ] && "$tools/bin/$name" --version | grep -qE "[ v]${version//./\\.}\$"; then
    return
  fi
  echo "book: installing $name $version into $tools"
  cargo install --quiet --locked "$name" --version "$version" --root "$tools" "$@"
}
install mdbook "$MDBOOK_VERSION" --no-default-features --features search
install mdbook-katex "$KATEX_VERSION"
install mdbook-mermaid "$MERMAID_VERSION"
export PATH="$PWD/$tools/bin:$PATH"
# mermaid.min.js and mermaid-init.js, from the pinned mdbook-mermaid (book.toml already names them).
mdbook-mermaid install book > /dev/null 2>&1
out=target/book
rm -rf "$out"
log=$("$mdbook" build book -d "$PWD/$out" 2>&1) || { echo "$log"; exit 1; }
# The preprocessors warn whenever mdBook's exact version differs from the one they were built
# against (mdbook-katex 0.5.3, mdbook-mermaid 0.5.0); the 0.5 protocol is the same, so that one
# notice is let through and every other warning fails the build.
log=$(grep -v "was built against" <<<"$log" || true)
if grep -iE "WARN|ERROR" <<<"$log"; then
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
# Nothing is fetched from the network when a page is read: no script, stylesheet, font or image
# from elsewhere (links to papers and documentation are fine: they are only followed on a click).
if grep -rlE '<(script|img|iframe)[^>]* src="(https?:)?//|<link[^>]* href="(https?:)?//|url\((https?:)?//' \
  --include='*.html' --include='*.css' "$out" | grep -v '/replays/'; then
  echo "book: the pages above load something from the network" >&2
  exit 1
fi
# Every formula was rendered: KaTeX leaves what it cannot parse as $…$ text, and warns.
if grep -lE '\$\$' --include='*.html' -r "$out" | grep -v '/replays/'; then
  echo "book: the pages above hold a $$ formula that was not rendered" >&2
  exit 1
fi
echo "book: built into $out ($(find "$out" -name '*.html' -not -path '*/replays/*' | wc -l) pages)"
