#!/usr/bin/env bash
# Build and start the demo on the embedded database (SQLite at ./data/shiliu.db).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
ensure_packages
cargo build --release --locked -p shiliu
exec ./target/release/shiliu demo "$@"
