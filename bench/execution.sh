#!/usr/bin/env bash
# Request execution (the engine in crates/fulfil) on the customer database that Fides 2.78.2 was
# measured on, next to Fides' figures. Prints a table. Needs cargo, psql and a PostgreSQL server.
#
#   bench/execution.sh [repetitions]
#
# It builds crates/fulfil/examples/execution_bench.rs in release, creates two databases with
# bench/fides-customerdb/make_customerdb.sql (10,000 and 1,000,000 rows per table; the second
# takes a minute or two), runs the cases and drops the databases. Each figure is the wall time
# of one verified request, from its leased job to its outcome: the search along the data map,
# for access the encrypted package (written, fsynced and recorded), for erasure the masking and
# its commit, and the job's checkpoints in ombud's store (SQLite, synchronous=FULL). Fides'
# figures are its wall time from submitting the request to status `complete`, in its eager
# mode (everything in the API process) and with a worker. PostgreSQL runs on the same 2 cores.
#
# OMBUD_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test) is where the
# databases are created; it needs the right to create and drop databases.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-20}
heavy_reps=$(( reps < 5 ? reps : 5 ))
pg_admin=${OMBUD_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
sql=bench/fides-customerdb

cargo build --release -q -p ombud-fulfil --example execution_bench
bin=${CARGO_TARGET_DIR:-target}/release/examples/execution_bench

dbs=()
cleanup() {
  for db in "${dbs[@]}"; do
    psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

create_db() { # $1 = name
  psql "$pg_admin" -qc "CREATE DATABASE $1" >/dev/null
  dbs+=("$1")
}

setup() { # $1 = URL, $2 = SQL file, then psql variables (name=value)
  local url=$1 file=$2
  shift 2
  local vars=()
  for v in "$@"; do vars+=(-v "$v"); done
  psql -X -q -v ON_ERROR_STOP=1 "${vars[@]}" -f "$sql/$file" "$url" >/dev/null
}

# Runs one case; prints "median_ms p95_ms peak_mib" from the example's result line.
measure() { # URL, case, repetitions, extra arguments
  local out
  out=$("$bin" "$@" --sql-dir "$sql")
  echo "$out" >&2
  echo "$out" | awk '/^result / {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v["median_ms"], v["p95_ms"], v["peak_mib"] }'
}

row() { # label, "median p95 peak", Fides, target, show memory (yes/no)
  set -- "$1" $2 "$3" "$4" "$5"
  awk -v l="$1" -v m="$2" -v p="$3" -v mem="$4" -v f="$5" -v t="$6" -v show="$7" 'BEGIN {
    fmt = (m < 1000) ? sprintf("%.1f ms (p95 %.1f)", m, p) : sprintf("%.2f s (p95 %.2f)", m / 1000, p / 1000)
    if (show == "yes") fmt = fmt sprintf(", peak RSS %.0f MiB", mem)
    printf "| %s | %s | %s | %s |\n", l, fmt, f, t }'
}

small_db=ombud_bench_exec_small_$$
large_db=ombud_bench_exec_large_$$
small=${pg_admin%/*}/$small_db
large=${pg_admin%/*}/$large_db
echo "creating the database with 10,000 rows per table" >&2
create_db "$small_db"
setup "$small" make_customerdb.sql n=10000
echo "creating the database with 1,000,000 rows per table" >&2
create_db "$large_db"
setup "$large" make_customerdb.sql n=1000000

access_small=$(measure "$small" access "$reps")
access_large=$(measure "$large" access "$reps")
erase_small=$(measure "$small" erasure "$reps")
erase_large=$(measure "$large" erasure "$reps")
setup "$large" reset_subject.sql
setup "$large" heavy_subject.sql k=1000
heavy_1k=$(measure "$large" access-heavy "$heavy_reps")
setup "$large" heavy_subject.sql k=10000
heavy_10k=$(measure "$large" access-heavy "$heavy_reps")
erase_1k=$(measure "$large" erasure-heavy "$heavy_reps" --rows 1000)
erase_10k=$(measure "$large" erasure-heavy "$heavy_reps" --rows 10000)

echo
echo "| request (median of $reps runs; heavy subject: $heavy_reps runs) | ombud | Fides 2.78.2, eager / worker | target |"
echo "|---|---|---|---|"
row "access, standard subject (24 rows), 10k rows/table" "$access_small" "0.53 s / –" "≤ 20 ms" no
row "access, standard subject, 1M rows/table" "$access_large" "0.63 s / 0.58 s" "≤ 20 ms, within 2× of 10k" no
row "erasure, standard subject (24 rows changed), 10k rows/table" "$erase_small" "0.93 s / –" "" no
row "erasure, standard subject, 1M rows/table" "$erase_large" "1.23 s / 1.07 s" "" no
row "access, heavy subject (1k addresses + 1k orders), 1M rows/table" "$heavy_1k" "0.89 s / 0.80 s" "" yes
row "access, heavy subject (10k addresses + 10k orders), 1M rows/table" "$heavy_10k" "6.4 s / 5.9 s (process RSS: API ≈ 410 MB; worker ≈ 310 MB + 2 × 340 MB)" "peak memory reported" yes
row "erasure, heavy subject 1k (ombud: 2,001 rows changed; Fides: 1k addresses masked)" "$erase_1k" "3.1 s / 9.9–13.6 s" "" no
row "erasure, heavy subject 10k (ombud: 20,001 rows changed; Fides: 10k addresses masked)" "$erase_10k" "40.2 s (ended in error) / 102.9 s; 47.5 s with synchronous_commit=off" "≤ 1 s" no
