#!/bin/sh
# The tpcb workload against pgbench, on the same server:
#   1. load speed: `pgbench -i -s N` against `stormdb setup tpcb --scale=N`,
#      alternately, a CHECKPOINT before each, in rows per second;
#   2. the statements: with pg_stat_statements preloaded on the server, the
#      queryid, text and count of what each tool executed (they must match);
#   3. throughput: `pgbench -S -M prepared` against `stormdb run tpcb
#      --select-only`, and the TPC-B-like transaction (pgbench -M prepared
#      against stormdb run tpcb), at each connection count, alternately.
#
#   bench/tpcb-vs-pgbench.sh [LOAD_SCALE] [ROUNDS] [DURATION_SECONDS] [CONNECTION COUNTS...]
#   bench/tpcb-vs-pgbench.sh 300 3 10 4 16
#
# Uses $DSN if set (the tables are dropped and created there!), else a
# throwaway server of its own. STORMDB=path (default build/stormdb); pgbench
# from the postgresql package. Figures are medians of the rounds; absolute
# figures depend on the machine, the ratios are the point.
set -eu
cd "$(dirname "$0")/.."
STORMDB=${STORMDB:-build/stormdb}
LOAD_SCALE=${1:-100}
ROUNDS=${2:-3}
DURATION=${3:-10}
shift 3 2>/dev/null || shift $#
COUNTS=${*:-4 16}
RUN_SCALE=${RUN_SCALE:-10}
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | sort -V | tail -1)
THREADS=$(nproc)

work=$(mktemp -d)
if [ -z "${DSN:-}" ]; then
  trap '"$STORMDB" server stop "$work/server" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT INT TERM
  "$STORMDB" server start "$work/server" >/dev/null
  DSN=$(cat "$work/server/conninfo")
else
  trap 'rm -rf "$work"' EXIT INT TERM
fi

sql() { PGOPTIONS="-c client_min_messages=warning" psql "$DSN" -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now() { date +%s.%N; }
quiet() { "$@" >"$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }; }

# --- 1. load --------------------------------------------------------------------
rows=$((LOAD_SCALE * 100011)) # accounts + tellers + branches
: >"$work/p_load"; : >"$work/s_load"
for r in $(seq "$ROUNDS"); do
  sql "DROP TABLE IF EXISTS pgbench_history, pgbench_tellers, pgbench_accounts, pgbench_branches"; sql CHECKPOINT
  t0=$(now); quiet "$PGBENCH" -i -q -s "$LOAD_SCALE" "$DSN"; t1=$(now)
  echo "$t1 - $t0" | bc >>"$work/p_load"
  sql "DROP TABLE IF EXISTS pgbench_history, pgbench_tellers, pgbench_accounts, pgbench_branches"; sql CHECKPOINT
  t0=$(now); quiet "$STORMDB" setup tpcb --scale="$LOAD_SCALE" --dsn "$DSN"; t1=$(now)
  echo "$t1 - $t0" | bc >>"$work/s_load"
done
p=$(median <"$work/p_load"); s=$(median <"$work/s_load")
echo "load, scale $LOAD_SCALE ($rows rows), median of $ROUNDS:"
printf "  pgbench -i: %8.2f s %12.0f rows/s   (rounds: %s)\n" "$p" "$(echo "$rows / $p" | bc -l)" "$(tr '\n' ' ' <"$work/p_load")"
printf "  stormdb   : %8.2f s %12.0f rows/s   (rounds: %s)\n" "$s" "$(echo "$rows / $s" | bc -l)" "$(tr '\n' ' ' <"$work/s_load")"
printf "  stormdb/pgbench speed: %.2f\n" "$(echo "$p / $s" | bc -l)"

# --- 2. the statements -----------------------------------------------------------
quiet "$STORMDB" setup tpcb --scale="$RUN_SCALE" --dsn "$DSN"
if sql "SHOW shared_preload_libraries" | grep -q pg_stat_statements; then
  sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
  for mode in tpcb-like select-only; do
    if [ "$mode" = select-only ]; then so=--select-only; ps=-S; else so=; ps=; fi
    sql "SELECT pg_stat_statements_reset()" >/dev/null
    quiet "$STORMDB" run tpcb --scale="$RUN_SCALE" $so --workers 4 --duration 3s --progress 0 --dsn "$DSN"
    sql "SELECT queryid || ' ' || query FROM pg_stat_statements WHERE calls >= 100 ORDER BY 1" >"$work/s_stmts"
    sql "SELECT pg_stat_statements_reset()" >/dev/null
    quiet "$PGBENCH" -n $ps -M prepared -c 4 -T 3 "$DSN"
    sql "SELECT queryid || ' ' || query FROM pg_stat_statements WHERE calls >= 100 ORDER BY 1" >"$work/p_stmts"
    if cmp -s "$work/s_stmts" "$work/p_stmts"; then
      echo "statements, $mode: the same (pg_stat_statements queryid and text):"
      sed 's/^/  /' "$work/s_stmts"
    else
      echo "statements, $mode: DIFFERENT (stormdb <, pgbench >):"
      diff "$work/s_stmts" "$work/p_stmts" || true
    fi
  done
  sql "DROP EXTENSION pg_stat_statements"
else
  echo "statements: not compared (the server does not preload pg_stat_statements)"
fi

# --- 3. throughput ---------------------------------------------------------------
printf "%-12s %6s %12s %12s %8s\n" script conns pgbench_tps stormdb_tps ratio
for mode in select-only tpcb-like; do
  if [ "$mode" = select-only ]; then so=--select-only; ps=-S; else so=; ps=; fi
  for c in $COUNTS; do
    : >"$work/p_tps"; : >"$work/s_tps"
    j=$THREADS; [ "$c" -lt "$j" ] && j=$c
    for r in $(seq "$ROUNDS"); do
      quiet "$PGBENCH" -n $ps -M prepared -c "$c" -j "$j" -T "$DURATION" "$DSN"
      sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/out" >>"$work/p_tps"
      quiet "$STORMDB" run tpcb --scale="$RUN_SCALE" $so --workers "$c" --connections "$c" \
        --duration "${DURATION}s" --progress 0 --dsn "$DSN"
      sed -n 's/^transactions: .*(\([0-9.]*\) tps).*/\1/p' "$work/out" >>"$work/s_tps"
    done
    p=$(median <"$work/p_tps"); s=$(median <"$work/s_tps")
    printf "%-12s %6d %12.0f %12.0f %8.2f\n" "$mode" "$c" "$p" "$s" "$(echo "$s / $p" | bc -l)"
  done
done
