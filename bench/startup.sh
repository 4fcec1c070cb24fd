#!/usr/bin/env bash
# Cold start and idle memory of `ombud serve` with the example policy, on the embedded SQLite
# store. Prints a table. Needs only bash, curl and /proc (Linux).
#
#   cargo build --release && bench/startup.sh [runs]
#
# Cold start: from exec to the first 200 from /healthz, with a fresh data folder each run (so the
# database is created and migrated, and the policy activated, every time). "Warm" reuses the
# folder. Polling /healthz costs up to a few milliseconds per attempt, so the figures are upper
# bounds. Idle memory is the resident set size (VmRSS) after start, and again after 1,000 requests
# to /privacy and a second of rest; peak is VmHWM.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
bin=target/release/ombud
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
port=18480
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now_us() { echo $(( $(date +%s%N) / 1000 )); }

start_once() { # $1 = data dir; sets $elapsed (µs) and $pid, leaves the server running
  local t0
  t0=$(now_us)
  "$bin" serve --policy examples/impero --listen 127.0.0.1:$port --metrics-listen off --data-dir "$1" >/dev/null 2>&1 &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do :; done
  elapsed=$(( $(now_us) - t0 ))
}

stop() { kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; }

stats() { # reads numbers (µs) on stdin, prints min / median / max in ms
  sort -n | awk '{a[NR]=$1} END {printf "%.1f / %.1f / %.1f", a[1]/1000, a[int((NR+1)/2)]/1000, a[NR]/1000}'
}

cold=(); warm=()
for i in $(seq "$runs"); do
  start_once "$work/cold-$i"; cold+=("$elapsed"); stop
done
for i in $(seq "$runs"); do
  start_once "$work/warm"; warm+=("$elapsed"); stop
done

start_once "$work/mem"
sleep 1
rss_idle=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
for i in $(seq 1000); do printf 'url = "http://127.0.0.1:%s/privacy"\noutput = "/dev/null"\n' "$port"; done > "$work/urls"
curl -s -K "$work/urls"
sleep 1
rss_after=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
stop

printf '| measure | result |\n|---|---|\n'
printf '| cold start, new database (min / median / max of %s) | %s ms |\n' "$runs" "$(printf '%s\n' "${cold[@]}" | stats)"
printf '| start, existing database (min / median / max of %s) | %s ms |\n' "$runs" "$(printf '%s\n' "${warm[@]}" | stats)"
mb() { awk -v kb="$1" 'BEGIN {printf "%.1f", kb / 1024}'; }
printf '| idle memory after start (VmRSS) | %s MB |\n' "$(mb "$rss_idle")"
printf '| idle memory after 1,000 requests (VmRSS) | %s MB |\n' "$(mb "$rss_after")"
printf '| peak memory (VmHWM) | %s MB |\n' "$(mb "$hwm")"
