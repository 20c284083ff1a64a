#!/bin/bash
# pgrun.sh <shuyuan binary> <clients> <duration> [bench ingest flags...]
#
# Ingest on PostgreSQL, one node: a fresh database shuyuan_ab, migrate, serve
# on 127.0.0.1:18091, `bench ingest` against it, then the CPU seconds that
# PostgreSQL, the node and the load generator spent, the checkpoints during
# the load, and the events still above the roll-up mark 3 s after it.
# The database is left for a look; drop it when done. LOGMS=<ms> logs every
# statement of the database slower than that (0: all) in the server's log;
# EXPLAINMS=<ms> logs their plans with actual rows and times (auto_explain).
# PGURL (default postgres://postgres@127.0.0.1:5432) names the server; DBOPTS
# are options of its CREATE DATABASE (say, TEMPLATE template0 LC_COLLATE 'C').
set -euo pipefail
BIN=$1 C=$2 D=$3; shift 3
HERE=$(cd "$(dirname "$0")" && pwd)
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DSN=$PGURL/shuyuan_ab
psql() { command psql "$PGURL/${DB:-postgres}" -Atq "$@"; }
psql -c 'DROP DATABASE IF EXISTS shuyuan_ab' -c "CREATE DATABASE shuyuan_ab ${DBOPTS:-}"
[ -n "${LOGMS:-}" ] && psql -c "ALTER DATABASE shuyuan_ab SET log_min_duration_statement = $LOGMS"
[ -n "${EXPLAINMS:-}" ] && psql -c "ALTER DATABASE shuyuan_ab SET session_preload_libraries = 'auto_explain'" \
	-c "ALTER DATABASE shuyuan_ab SET auto_explain.log_min_duration = $EXPLAINMS" \
	-c "ALTER DATABASE shuyuan_ab SET auto_explain.log_analyze = on"
LOG=$(mktemp -d)
"$BIN" migrate --config "$HERE/bench.yaml" --store postgres --dsn "$DSN" >"$LOG/migrate.log" 2>&1 ||
	{ cat "$LOG/migrate.log"; exit 1; }
"$BIN" serve --config "$HERE/bench.yaml" --store postgres --dsn "$DSN" --addr 127.0.0.1:18091 >"$LOG/serve.log" 2>&1 &
SP=$!
trap 'kill $SP 2>/dev/null || true' EXIT
for _ in $(seq 150); do curl -sf 127.0.0.1:18091/readyz >/dev/null && break; sleep 0.2; done
# CPU ticks (1/100 s) of every postgres process, and of the node.
pgcpu() { for p in $(pgrep -u postgres); do awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || true; done | awk '{s+=$1} END {print s+0}'; }
nodecpu() { awk '{print $14+$15}' "/proc/$SP/stat"; }
checkpoints() { psql -c 'SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter'; }
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
ck0=$(checkpoints) c0=$(pgcpu) n0=$(nodecpu)
TIMEFORMAT="the load generator (bench ingest): %U s user, %S s system"
time "$BIN" bench ingest --url http://127.0.0.1:18091 --token bench-sdk-token-0001 --clients "$C" --duration "$D" "$@"
c1=$(pgcpu) n1=$(nodecpu) ck1=$(checkpoints)
sleep 3
left=$(DB=shuyuan_ab psql -c 'SELECT count(*) FROM events WHERE seq > (SELECT coalesce(max(rolled_seq), 0) FROM rollup_state)')
echo "postgres_cpu_s=$(((c1 - c0) / 100)) node_cpu_s=$(((n1 - n0) / 100)) checkpoints=$((ck1 - ck0)) not_rolled_up_after_3s=$left"
echo "server log: $LOG/serve.log"
