#!/usr/bin/env bash
# The browser test of the web view (`snapsim ui`, `snapsim replay --html`): installs what it needs
# (Debian's Chromium; playwright-core from npm, pinned, into target/), builds snapsim, and runs
# tests/ui/browser.mjs. Screenshots land in target/ui-test/. Run by .ci/run after `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
PLAYWRIGHT_CORE_VERSION=1.64.1
out=target/ui-test
node_dir=target/ui-test-node

if ! command -v chromium >/dev/null 2>&1; then
  echo "ui-test: installing Debian's chromium"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium >/dev/null
fi
if ! command -v node >/dev/null 2>&1; then
  echo "ui-test: node is needed (Node.js 18 or newer)" >&2
  exit 1
fi
if [ ! -f "$node_dir/node_modules/playwright-core/package.json" ] ||
   ! grep -q "\"version\": \"$PLAYWRIGHT_CORE_VERSION\"" "$node_dir/node_modules/playwright-core/package.json"; then
  echo "ui-test: installing playwright-core $PLAYWRIGHT_CORE_VERSION"
  mkdir -p "$node_dir"
  (cd "$node_dir" && [ -f package.json ] || echo '{"private": true}' > package.json)
  (cd "$node_dir" && npm install --silent --no-audit --no-fund "playwright-core@$PLAYWRIGHT_CORE_VERSION")
fi
cargo build --quiet --bin snapsim
rm -rf "$out"
CHROMIUM="$(command -v chromium)" node tests/ui/browser.mjs target/debug/snapsim \
  "$node_dir/node_modules/playwright-core" "$out"
