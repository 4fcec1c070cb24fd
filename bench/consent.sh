#!/usr/bin/env bash
# Consent ingestion and checks over HTTP, next to the same server's no-op endpoint, on SQLite and
# on PostgreSQL. Prints a table. Load generator: wrk (Debian package `wrk`, installed if missing).
#
#   cargo build --release && bench/consent.sh [seconds per run] [connections]
#
# Every acknowledged event is durable: the server answers a choice only after its transaction
# has committed (SQLite: WAL with synchronous=FULL; PostgreSQL: default synchronous_commit).
# The load generator runs on the same 2 cores as the server, so both share the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
. bench/lib.sh

row() { # label, events per request, "rps p50 p99", noop rps
  set -- "$1" "$2" $3 "$4"
  awk -v l="$1" -v k="$2" -v r="$3" -v a="$4" -v b="$5" -v n="$6" \
    'BEGIN { printf "| %s | %.0f | %.0f | %.2f | %.2f | %.0f%% |\n", l, r, r * k, a, b, 100 * r * k / n }'
}

bench_backend() { # $1 = label, $2 = database URL or empty
  start "$2"
  local version rev noop
  version=$(curl -s "http://127.0.0.1:$port/api/v1/policy" | sed 's/.*"version":\([0-9]*\).*/\1/')
  rev=$(curl -s "http://127.0.0.1:$port/c/banner.js" | grep -o '"r":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
  export OMBUD_CHOICE="{\"version\":$version,\"rev\":\"$rev\",\"choices\":{\"functional\":false,\"statistics\":true,\"marketing\":false}}"
  noop=$(run "" /healthz)
  local noop_rps=${noop%% *}
  row "$1: no-op (GET /healthz)" 1 "$noop" "$noop_rps"
  row "$1: banner choice (POST /c/consent, 3 events)" 3 "$(run banner-choice.lua /c/consent)" "$noop_rps"
  row "$1: API event (POST /api/v1/consent/events, 1 event)" 1 "$(run api-event.lua /api/v1/consent/events)" "$noop_rps"
  row "$1: consent check (GET /api/v1/consent/check)" 1 \
    "$(run check.lua '/api/v1/consent/check?subject=customer:bench-1-1&purpose=marketing')" "$noop_rps"
  stop
}

echo "| run ($conns connections, ${secs} s each) | requests/s | events or checks/s | p50 ms | p99 ms | of no-op |"
echo "|---|---|---|---|---|---|"
on_both_backends bench_backend
