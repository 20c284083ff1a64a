#!/bin/bash
# run.sh <shuyuan binary> <clients> <duration> [bench ingest flags...]
#
# Ingest on the embedded store: a fresh data directory, serve on
# 127.0.0.1:18090 (INTAKE=log, the default, or direct), `bench ingest`
# against it, then /metrics every 0.5 s until the intake log is loaded (the
# catch-up). The server's VmRSS is sampled every 0.5 s throughout; its
# peak, during the load and the catch-up, is printed at the end. The data
# directory is removed at the end unless KEEP=1.
set -euo pipefail
BIN=$1 C=$2 D=$3; shift 3
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$(mktemp -d)
"$BIN" serve --config "$HERE/bench.yaml" --data "$DATA" --addr 127.0.0.1:18090 --intake "${INTAKE:-log}" >"$DATA/serve.log" 2>&1 &
SP=$! RP=
trap 'kill $SP $RP 2>/dev/null || true; wait $SP 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$DATA"' EXIT
for _ in $(seq 150); do curl -sf 127.0.0.1:18090/readyz >/dev/null && break; sleep 0.2; done
( while kill -0 $SP 2>/dev/null; do awk '/^VmRSS/ {print $2}' "/proc/$SP/status" 2>/dev/null || true; sleep 0.5; done ) >"$DATA/rss.kb" &
RP=$!
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" bench ingest --url http://127.0.0.1:18090 --token bench-sdk-token-0001 --clients "$C" --duration "$D" "$@"
start=$(date +%s.%N)
backlog() { curl -s 127.0.0.1:18090/metrics | awk '/^shuyuan_intake_backlog_uploads / {print $2}'; }
if [ "${INTAKE:-log}" = log ]; then
	while [ "$(backlog)" != 0 ]; do sleep 0.5; done
	awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "catch-up after the load: %.1f s\n", e - s}'
fi
sort -n "$DATA/rss.kb" | tail -1 | awk '{printf "server RSS peak: %d MiB\n", $1/1024}'
[ -z "${KEEP:-}" ] || echo "data directory: $DATA"
