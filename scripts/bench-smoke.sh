#!/usr/bin/env bash
# Every benchmark suite at a tiny size, on SQLite and on PostgreSQL, so none can rot between
# the runs that measure: each must finish, print its figures and count no error. The figures of
# such a run mean nothing (one second, two connections, a few thousand rows); docs/PERFORMANCE.md
# keeps the measured ones. Run by scripts/test.sh; alone: scripts/bench-smoke.sh [binary].
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/engines.sh
shiliu_bin "${1:-}"
work=$(mktemp -d)
pgdb="shiliu_bench_smoke_$$"
cleanup() {
  psql "$pg" -qAtc "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

status=0
for engine in sqlite postgres; do
  dir="$work/$engine"
  export SHILIU_LOG_LEVEL=warn
  fresh_demo "$engine" "$dir" "$pgdb" 1000 || {
    echo "bench smoke ($engine): the demo failed"; tail -n 20 "$dir/demo.log"; status=1; continue
  }
  # Rows stored for the reads (requests, people); for `evaluation`, the scheme's units.
  # The lists' 152 cells a tenth of a second each (`--seconds 0`), the others a second.
  for run in core:3000:1 requests:3000:1 registry:3000:1 lists:3000:0 evaluation:20:1 tasks:20:1 dashboard:0:1 activities:3000:1 councils:3000:1; do
    IFS=: read -r suite rows seconds <<<"$run"
    log="$dir/$suite.log"
    started=$(date +%s)
    if (cd "$dir" && "$bin" bench --suite "$suite" --seconds "$seconds" --concurrency 2 --rows "$rows" >"$log" 2>&1); then
      # A figure line with errors: "errors 3", "3 errors".
      if grep -Eq '(errors[: ]+[1-9]|[1-9][0-9]* errors)' "$log"; then
        echo "bench smoke ($engine, $suite): errors counted"; grep -E 'errors' "$log" | head -n 20
        status=1
      else
        echo "bench smoke ($engine, $suite): ok in $(( $(date +%s) - started )) s, $(wc -l <"$log") lines"
      fi
    else
      echo "bench smoke ($engine, $suite): failed"; tail -n 30 "$log"
      status=1
    fi
  done
done
exit "$status"
