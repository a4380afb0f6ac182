#!/bin/sh
# stormdb against pgbench on identical work: pgbench's select-only
# transaction (-S -M prepared) and bench/pgbench-select.lua, run alternately
# on the same throwaway server at each connection count (workers =
# connections, as pgbench's clients), printing the throughput ratio and the
# client CPU (user + system) per transaction of each.
#
#   bench/vs-pgbench.sh [DURATION_SECONDS] [ROUNDS] [CONNECTION COUNTS...]
#   bench/vs-pgbench.sh 10 3 8 32 128
#
# Needs a built stormdb (STORMDB=path, default build/stormdb) and pgbench from
# the postgresql package. Absolute figures depend on the machine; the ratios
# are the point. A ratio is the median of the rounds.
set -eu
cd "$(dirname "$0")/.."
STORMDB=${STORMDB:-build/stormdb}
DURATION=${1:-10}
ROUNDS=${2:-3}
shift 2 2>/dev/null || shift $#
COUNTS=${*:-8 32 128}
SCALE=${SCALE:-10}
THREADS=$(nproc)
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | sort -V | tail -1)

work=$(mktemp -d)
trap '"$STORMDB" server stop "$work/server" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT INT TERM
"$STORMDB" server start "$work/server" >/dev/null
DSN=$(cat "$work/server/conninfo")
"$PGBENCH" -i -q -s "$SCALE" "$DSN" >/dev/null 2>&1

# cpu_of CMD...: runs CMD, leaves its stdout in $work/out and "user sys" in $work/cpu
cpu_of() {
  /usr/bin/time -f "%U %S" -o "$work/cpu" "$@" >"$work/out" 2>"$work/err" || {
    cat "$work/err" >&2
    exit 1
  }
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf "%-6s %12s %12s %8s %16s %16s %8s\n" conns pgbench_tps stormdb_tps ratio pgbench_us/tx stormdb_us/tx cpu_ratio
for c in $COUNTS; do
  : >"$work/p_tps"; : >"$work/s_tps"; : >"$work/p_cpu"; : >"$work/s_cpu"
  j=$THREADS
  [ "$c" -lt "$j" ] && j=$c
  for r in $(seq "$ROUNDS"); do
    cpu_of "$PGBENCH" -n -S -M prepared -c "$c" -j "$j" -T "$DURATION" "$DSN"
    n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/out")
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/out")
    echo "$tps" >>"$work/p_tps"
    awk -v n="$n" '{ print ($1 + $2) * 1e6 / n }' "$work/cpu" >>"$work/p_cpu"

    cpu_of "$STORMDB" run bench/pgbench-select.lua --dsn "$DSN" --scale="$SCALE" --workers "$c" \
      --connections "$c" --threads "$j" --duration "$DURATION" --progress 0
    n=$(sed -n 's/^transactions: \([0-9]*\) .*/\1/p' "$work/out")
    tps=$(sed -n 's/^transactions: .*(\([0-9.]*\) tps).*/\1/p' "$work/out")
    echo "$tps" >>"$work/s_tps"
    awk -v n="$n" '{ print ($1 + $2) * 1e6 / n }' "$work/cpu" >>"$work/s_cpu"
  done
  pt=$(median <"$work/p_tps"); st=$(median <"$work/s_tps")
  pc=$(median <"$work/p_cpu"); sc=$(median <"$work/s_cpu")
  awk -v c="$c" -v pt="$pt" -v st="$st" -v pc="$pc" -v sc="$sc" \
    'BEGIN { printf "%-6d %12.1f %12.1f %8.3f %16.2f %16.2f %8.3f\n", c, pt, st, st / pt, pc, sc, sc / pc }'
done
