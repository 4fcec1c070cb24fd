# Shared by the wrk benchmarks (consent.sh, requests.sh): a release `ombud serve` with the example
# policy on a loopback port, wrk runs reduced to "requests/s p50 p99", and clean-up. Source it
# after setting `secs` and `conns`.

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

# wrk's summary → "requests/s p50 p99" (latencies in ms). 3xx answers count as success.
run() { # $1 = script or "", $2 = path
  local out
  if [ -n "$1" ]; then
    out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "bench/wrk/$1" "http://127.0.0.1:$port$2")
  else
    out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port$2")
  fi
  if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; echo "error responses" >&2; exit 1; fi
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  echo "$rps $(ms "$p50") $(ms "$p99")"
}
ms() { # wrk latency (e.g. 812.00us, 1.20ms, 2.01s) → ms
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /s$/ && v !~ /ms$/) n *= 1000; printf "%.2f", n }'
}

# Runs `$1 label` on SQLite, then on a fresh PostgreSQL database (dropped afterwards).
on_both_backends() { # $1 = function taking (label, database URL or empty)
  "$1" SQLite ""
  local db="ombud_bench_$$"
  if psql "$pg_admin" -qc "CREATE DATABASE $db" 2>/dev/null; then
    "$1" PostgreSQL "${pg_admin%/*}/$db"
    psql "$pg_admin" -qc "DROP DATABASE $db" >/dev/null
  else
    echo "(PostgreSQL at $pg_admin not reachable: skipped)" >&2
  fi
}
