#!/usr/bin/env bash
# Install what building and testing Shiliu needs, from Debian's packages, when missing.
# Sourced by demo.sh (build only) and test.sh (build, PostgreSQL, Chromium, axe-core).
# axe-core from npm, kept outside the repository; the browser tests read $SHILIU_TEST_AXE_JS
# (crates/shiliu/tests/browser.rs falls back to the same path).
AXE_VERSION=4.14.1
AXE_DIR="$HOME/.cache/shiliu/axe"
AXE_JS="$AXE_DIR/node_modules/axe-core/axe.min.js"
axe_missing() {
  ! grep -qs "\"version\": \"$AXE_VERSION\"" "$AXE_DIR/node_modules/axe-core/package.json"
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_packages() {
  local need=()
  command -v cc >/dev/null 2>&1 || need+=(build-essential)
  [ -e /usr/include/postgresql/libpq-fe.h ] || need+=(libpq-dev)
  if [ "${1:-}" = test ]; then
    command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
    # The end-to-end tests drive a real headless Chromium; the font renders Chinese.
    command -v chromium >/dev/null 2>&1 || need+=(chromium)
    command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
    [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
  fi
  # npm fetches axe-core, the accessibility checker the browser tests run on every page.
  if [ "${1:-}" = test ] && axe_missing; then
    command -v npm >/dev/null 2>&1 || need+=(npm)
  fi
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}"
  fi
  if [ "${1:-}" = test ] && axe_missing; then
    echo "installing: axe-core@$AXE_VERSION (npm) into $AXE_DIR"
    npm install --silent --no-save --no-audit --no-fund --prefix "$AXE_DIR" "axe-core@$AXE_VERSION"
  fi
}
