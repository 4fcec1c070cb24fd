#!/usr/bin/env bash
# Durability under a crash: kill -9 the server in the middle of a banner-choice load run,
# restart it, and compare what was acknowledged with what the ledger holds. Every acknowledged
# choice (three events) must be there; a few more may be (committed, but killed before the
# answer went out).
#
#   cargo build --release && bench/crash.sh [seconds before the kill]
#
# Needs wrk (Debian package, installed if missing) and python3 (to count rows with its sqlite3
# module).
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:-5}
bin=target/release/ombud
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "installing wrk (Debian package)" >&2; apt-get install -y -qq wrk >/dev/null; }
port=18495
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT

start() {
  OMBUD_LOG_FILTER=warn "$bin" serve --policy examples/impero --listen 127.0.0.1:$port --metrics-listen off \
    --data-dir "$work/data" >/dev/null 2>&1 &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.05; done
}

start
version=$(curl -s "http://127.0.0.1:$port/api/v1/policy" | sed 's/.*"version":\([0-9]*\).*/\1/')
rev=$(curl -s "http://127.0.0.1:$port/c/banner.js" | grep -o '"r":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
export OMBUD_CHOICE="{\"version\":$version,\"rev\":\"$rev\",\"choices\":{\"functional\":false,\"statistics\":true,\"marketing\":false}}"

wrk -t2 -c64 -d$((before + 3))s -s bench/wrk/banner-choice.lua "http://127.0.0.1:$port/c/consent" > "$work/wrk.txt" 2>&1 &
load=$!
sleep "$before"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=
wait "$load" || true

# wrk counts a request only once its whole response arrived: those are the acknowledged ones.
acked=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $5}' "$work/wrk.txt")
start
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from consent_event').fetchone()[0])" "$work/data/ombud.db")
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

echo "| measure | count |"
echo "|---|---|"
echo "| choices acknowledged before kill -9 | $acked |"
echo "| events acknowledged (3 per choice) | $((acked * 3)) |"
echo "| events in the ledger after restart | $stored |"
echo "| non-2xx answers | ${non2xx:-0} |"
if [ "$stored" -ge $((acked * 3)) ] && [ -z "$non2xx" ]; then
  echo "| result | nothing acknowledged was lost |"
else
  echo "| result | LOST $((acked * 3 - stored)) acknowledged events |"
  exit 1
fi
