#!/bin/bash
# analyses.sh <analysis test binary> <runs> [postgres database]
#
# Every analysis of the index with its defaults over 30 days of the 10 M-event
# demo store, the median of <runs> after one pass to warm up; on the embedded
# store, or on PostgreSQL when a database is named (postgres://... or a name
# on 127.0.0.1:5432). The test binary: go test -c -o <file> ./internal/analysis/
# The first run fills the store into BENCH_DIR (default
# /tmp/shuyuan-bench/10m) and copies it into the database (20-30 minutes);
# later runs reuse both. SHUYUAN_BENCH_QUERIES ("name?params;...") limits
# the analyses timed.
set -euo pipefail
BIN=$1 RUNS=$2 DB=${3:-}
export SHUYUAN_BENCH_EVENTS=${SHUYUAN_BENCH_EVENTS:-10000000}
export SHUYUAN_BENCH_DIR=${BENCH_DIR:-/tmp/shuyuan-bench/10m}
case $DB in
"") ;;
postgres://*) export SHUYUAN_BENCH_DSN=$DB ;;
*) export SHUYUAN_BENCH_DSN=postgres://postgres@127.0.0.1:5432/$DB ;;
esac
BIN=$(realpath "$BIN")
cd "$(dirname "$0")/../../internal/analysis"
"$BIN" -test.run '^$' -test.bench Analyses -test.benchtime 1x -test.cpu 2 -test.timeout 120m >/dev/null
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" -test.run '^$' -test.bench Analyses -test.benchtime "${RUNS}x" -test.cpu 2 -test.timeout 120m |
	awk '/median-ms/ {name = $1; sub("BenchmarkAnalyses/", "", name); sub("-[0-9]+$", "", name); printf "%-18s %8.1f ms\n", name, $5}'
