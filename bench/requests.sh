#!/usr/bin/env bash
# Rights-request intake over HTTP on SQLite and on PostgreSQL. Prints a table. Load generator:
# wrk (Debian package `wrk`, installed if missing).
#
#   cargo build --release && bench/requests.sh [seconds per run] [connections]
#
# - the privacy centre's form page (GET /privacy-centre, rendered from the policy);
# - a request through the staff API (POST /api/v1/requests): validated, deadlines computed,
#   repeat check, stored with its timeline event and audit entry in one transaction;
# - a request through the privacy centre's form (POST /privacy-centre/requests): all of the
#   above, plus a fresh identity code, its HMAC stored, and the code e-mail written to the mail
#   folder (no SMTP relay) before the answer.
# Every answer comes after the commit. wrk runs on the same cores as the server.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
. bench/lib.sh
export OMBUD_SECRET_KEY=bench-secret-key-0123456789abcdef0123456789
export OMBUD_MAIL_DIR="$work/mail"

row() { # label, "rps p50 p99"
  set -- "$1" $2
  awk -v l="$1" -v r="$2" -v a="$3" -v b="$4" \
    'BEGIN { printf "| %s | %.0f | %.2f | %.2f |\n", l, r, a, b }'
}

bench_backend() { # $1 = label, $2 = database URL or empty
  start "$2"
  row "$1: form page (GET /privacy-centre)" "$(run "" '/privacy-centre?lang=en')"
  row "$1: staff API (POST /api/v1/requests)" "$(run api-request.lua /api/v1/requests)"
  row "$1: privacy centre (POST /privacy-centre/requests, code e-mailed)" \
    "$(run centre-submit.lua /privacy-centre/requests)"
  stop
}

echo "| run ($conns connections, ${secs} s each) | requests/s | p50 ms | p99 ms |"
echo "|---|---|---|---|"
on_both_backends bench_backend
