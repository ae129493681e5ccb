# Sourced by api-fuzz.sh and bench-smoke.sh: the binary they run, and a fresh demo database on
# each engine for it.
pg="${SHILIU_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres}"

# shiliu_bin [path]: sets $bin to the binary (built when missing), as an absolute path.
shiliu_bin() {
  bin="${1:-target/debug/shiliu}"
  [ -x "$bin" ] || cargo build -p shiliu --locked
  bin="$(realpath "$bin")"
}

# fresh_demo ENGINE DIR PGDB REQUESTS: a new database on ENGINE (PostgreSQL: database PGDB on
# $pg, made again), its registry key in DIR, both exported as SHILIU_*, and the small demo in it
# with REQUESTS requests (its log in DIR/demo.log). Every later command runs in DIR.
fresh_demo() {
  local engine=$1 dir=$2 pgdb=$3 requests=$4 url
  mkdir -p "$dir"
  if [ "$engine" = sqlite ]; then
    url="sqlite://$dir/shiliu.db"
  else
    psql "$pg" -qAtc "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1
    psql "$pg" -qAtc "CREATE DATABASE $pgdb" >/dev/null
    url="${pg%/*}/$pgdb"
  fi
  "$bin" keygen >"$dir/registry.key"
  export SHILIU_DATABASE_URL="$url" SHILIU_REGISTRY_KEY_FILE="$dir/registry.key"
  (cd "$dir" && "$bin" demo --no-serve --requests "$requests" >"$dir/demo.log" 2>&1)
}
