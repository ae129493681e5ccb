#!/usr/bin/env bash
# Install what building and testing Shiliu needs, from Debian's packages, when missing.
# Sourced by demo.sh (build only) and test.sh (build, PostgreSQL, Chromium).
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
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}"
  fi
}
