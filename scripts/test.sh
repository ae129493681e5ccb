#!/usr/bin/env bash
# Run the whole test suite on both engines (SQLite and PostgreSQL).
# Installs what it needs from Debian's packages when missing (scripts/setup.sh): libpq,
# PostgreSQL, Chromium with its driver, and a Chinese font; and axe-core from npm (not kept in
# the repository) for the browser tests' accessibility check.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/setup.sh
ensure_packages test
export SHILIU_TEST_AXE_JS="${SHILIU_TEST_AXE_JS:-$AXE_JS}"

# PostgreSQL for the tests: SHILIU_TEST_PG, or the local server (started if it is down).
export SHILIU_TEST_PG="${SHILIU_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! psql "$SHILIU_TEST_PG" -qAtc 'select 1' >/dev/null 2>&1; then
  # A fresh Debian cluster allows only peer authentication: trust local TCP for the test user.
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | sort -V | tail -n 1)
  grep -q '^host all all 127.0.0.1/32 trust' "$hba" || as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main reload
  sleep 1
fi

cargo fmt --all -- --check
# The web crate alone, without the features the binary and the tests turn on: a handler that
# builds a whole-region scope or the system's actor (shiliu-db's `system` feature) fails here,
# where the workspace's unified features would let it compile.
cargo check -p shiliu-web --lib --locked
cargo clippy --workspace --all-targets --locked -- -D warnings
log=$(mktemp)
set +e
cargo test --workspace --all-targets --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line over every test binary (SQLite and PostgreSQL runs included).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
# A check run after the tests whatever they gave; its failure fails the suite.
also() {
  local name=$1
  shift
  if "$@"; then echo "$name: passed"; else echo "$name: failed"; status=1; fi
}
# The JSON API against its served description, by Schemathesis, on both engines.
also "api fuzz" scripts/api-fuzz.sh target/debug/shiliu
# Every benchmark suite at a tiny size on both engines, so none rots between measurements.
also "bench smoke" scripts/bench-smoke.sh target/debug/shiliu
exit "$status"
