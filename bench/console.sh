#!/usr/bin/env bash
# Times the staff console's pages on a store with 1,000,000 consent events and 10,000 requests
# (SQLite by default; pass --store postgres://… for PostgreSQL, an empty database), and prints a
# table of median and 95th-percentile page times. Release build; about a minute to fill the store.
#
#   bench/console.sh                      # the sizes the issue names
#   bench/console.sh --reps 50 --events 200000
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --locked -q -p ombud-server --example console_bench -- "$@"
