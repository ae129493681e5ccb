#!/usr/bin/env bash
# The JSON API against its own description, by a checker nobody here wrote: Schemathesis
# (from PyPI, kept outside the repository) generates calls from the served OpenAPI document —
# every operation, valid and invalid input, then chains of calls that follow the document's
# links (a request created, then read, stepped, given a dispute) — against the real server on
# the small demo, on SQLite and on PostgreSQL. It fails on any server error, any response that
# breaks its declared schema, status or type, and when no write of the chains succeeded.
# Budget: 25 examples an operation (a minute or so an engine).
# Run by scripts/test.sh; alone: scripts/api-fuzz.sh [path to the shiliu binary].
set -euo pipefail
cd "$(dirname "$0")/.."
here="$(pwd)"

ST_VERSION=4.32.5
ST_DIR="$HOME/.cache/shiliu/schemathesis"
if ! "$ST_DIR/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
  echo "installing: schemathesis==$ST_VERSION (PyPI) into $ST_DIR"
  python3 -m venv "$ST_DIR"
  "$ST_DIR/bin/pip" install -q "schemathesis==$ST_VERSION"
fi

. scripts/engines.sh
shiliu_bin "${1:-}"
work=$(mktemp -d)
server=""
pgdb="shiliu_fuzz_$$"
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  psql "$pg" -qAtc "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

status=0
for engine in sqlite postgres; do
  dir="$work/$engine"
  fresh_demo "$engine" "$dir" "$pgdb" 2000
  token=$(cd "$dir" && "$bin" user token nanning --name api-fuzz --days 1)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (cd "$dir" && exec "$bin" serve --listen "127.0.0.1:$port" >"$dir/serve.log" 2>&1) &
  server=$!
  for _ in $(seq 1 60); do
    curl -fs "http://127.0.0.1:$port/api/v1/openapi.json" >/dev/null 2>&1 && break
    sleep 1
  done
  echo "api fuzz ($engine): http://127.0.0.1:$port"
  set +e
  (cd "$dir" && "$ST_DIR/bin/st" --config-file "$here/scripts/schemathesis.toml" \
    run "http://127.0.0.1:$port/api/v1/openapi.json" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --max-examples 25 --workers 1 --no-color \
    --report ndjson --report-dir "$dir/report" >"$dir/st.log" 2>&1)
  st_status=$?
  set -e
  tail -n 25 "$dir/st.log"
  if [ "$st_status" -ne 0 ]; then
    grep -n -A 40 "FAILURES\|ERRORS" "$dir/st.log" | head -n 120 || true
    echo "server log (errors):"
    grep -i "error\|panic" "$dir/serve.log" | tail -n 20 || true
    status=1
  fi
  python3 scripts/api-fuzz-report.py "$dir"/report/*.ndjson || status=1
  kill "$server" && wait "$server" 2>/dev/null || true
  server=""
done
exit "$status"
