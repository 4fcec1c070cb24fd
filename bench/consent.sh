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
bin=target/release/ombud
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "installing wrk (Debian package)" >&2; apt-get install -y -qq wrk >/dev/null; }
pg_admin=${OMBUD_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
port=18490
work=$(mktemp -d)
export OMBUD_API_TOKEN=bench-token-0123456789abcdef
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

start() { # $1 = database URL or empty for SQLite in $work
  local args=(serve --policy examples/impero --listen 127.0.0.1:$port --metrics-listen off --data-dir "$work/data")
  [ -n "$1" ] && args+=(--database-url "$1")
  OMBUD_LOG_FILTER=warn "$bin" "${args[@]}" >/dev/null 2>"$work/server.log" &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.05; done
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

# wrk's summary → "requests/s p50 p99" (latencies in ms).
run() { # $1 = script or "", $2 = path
  local out
  if [ -n "$1" ]; then
    out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "bench/wrk/$1" "http://127.0.0.1:$port$2")
  else
    out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port$2")
  fi
  if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; echo "non-2xx responses" >&2; exit 1; fi
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  echo "$rps $(ms "$p50") $(ms "$p99")"
}
ms() { # wrk latency (e.g. 812.00us, 1.20ms, 2.01s) → ms
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /s$/ && v !~ /ms$/) n *= 1000; printf "%.2f", n }'
}
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
bench_backend SQLite ""
db="ombud_bench_$$"
if psql "$pg_admin" -qc "CREATE DATABASE $db" 2>/dev/null; then
  bench_backend PostgreSQL "${pg_admin%/*}/$db"
  psql "$pg_admin" -qc "DROP DATABASE $db" >/dev/null
else
  echo "(PostgreSQL at $pg_admin not reachable: skipped)" >&2
fi
