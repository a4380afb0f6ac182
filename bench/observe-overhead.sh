#!/bin/sh
# What server observation costs: the same band (bench/pgbench-select.lua,
# point selects, the workload where a sampler's queries weigh most) with and
# without observation, alternating, on one throwaway server; prints each
# round, the medians and observed / plain. Goal: within 2% (a ratio in
# [0.98, 1.02]). It also prints the spread of the plain rounds (a smaller
# difference is noise, not a measurement) and the CPU the observer used
# (its backend and stormdb's controller thread, from /proc) as a share of
# the machine: the direct measure of its cost, which noise does not blur.
#
#   bench/observe-overhead.sh [DURATION_SECONDS] [ROUNDS] [WORKERS] [CONNECTIONS] [INTERVAL]
#   bench/observe-overhead.sh 10 3 8 8 0.1
#
# Needs a built stormdb (STORMDB=path, default build/stormdb) and psql. Both
# sides run under the same small controller (put first on the Lua path with
# --lua-path), which differs only in calling stormdb.observe, so nothing but
# the observation differs between them. Once `stormdb run` observes by
# itself, the controller can give way to the real flags.
set -eu
cd "$(dirname "$0")/.."
STORMDB=${STORMDB:-build/stormdb}
DURATION=${1:-10}
ROUNDS=${2:-3}
WORKERS=${3:-8}
CONNECTIONS=${4:-$WORKERS}
INTERVAL=${5:-0.1}
SCALE=${SCALE:-1}

work=$(mktemp -d)
trap '"$STORMDB" server stop "$work/server" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT INT TERM
"$STORMDB" server start "$work/server" >/dev/null
DSN=$(cat "$work/server/conninfo")
psql "$DSN" -X -q -v ON_ERROR_STOP=1 \
  -c "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))" \
  -c "INSERT INTO pgbench_accounts SELECT g, 1, 0, '' FROM generate_series(1, 100000 * $SCALE) g" \
  -c "VACUUM ANALYZE pgbench_accounts" >/dev/null

mkdir -p "$work/lua/stormdb"
cat >"$work/lua/stormdb/cli.lua" <<'EOF'
-- One band; with STORMDB_OBSERVE=1 observed by stormdb.observe. Prints
-- "tps N" (and "rounds N" when observed).
local engine = require "stormdb.engine"
local result = require "stormdb.result"
local cjson = require "cjson"
local M = {}
function M.main(cfg)
  local observed = os.getenv("STORMDB_OBSERVE") == "1"
  local obs
  if observed then
    obs = assert(require("stormdb.observe").new(cfg.dsn, { interval = tonumber(os.getenv("INTERVAL")) }))
    obs:study_settings()
    obs:band_start()
  end
  local connections = cfg.given.connections and cfg.connections or cfg.workers
  local spec = {
    mode = "band", workload = cfg.script, options_json = cjson.encode({ scale = tonumber(os.getenv("SCALE")) }),
    lua_path = cfg.lua_path, dsn = cfg.dsn, workers = cfg.workers, connections = connections,
    threads = math.min(engine.cores(), cfg.workers), warmup = cfg.warmup, duration = cfg.duration,
    progress = 0, drain = cfg.drain, seed = 1, max_tries = 10,
  }
  local raw = assert(engine.run(spec, obs and obs:callbacks({}) or nil))
  local band = result.band(raw, { band_number = 1, workers = cfg.workers, connections = connections })
  print(string.format("tps %.1f", band.performance.tps))
  if obs then
    obs:band_end(band)
    local a = band.server.activity
    print(string.format("rounds %d", a and a.rounds or 0))
    local ob = band.server.observer
    print(string.format("observer %d statements, waited %.3f s", ob.queries or 0, ob.seconds or 0))
    print(string.format("cpu %.3f %.3f %.5f", ob.backend_cpu_seconds or -1, ob.controller_cpu_seconds or -1,
      ob.cpu_share_of_machine or -1))
    print("bottleneck " .. tostring(band.bottleneck_type))
    obs:close()
  end
  return 0
end
return M
EOF

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

band() {
  STORMDB_OBSERVE=$1 INTERVAL=$INTERVAL SCALE=$SCALE "$STORMDB" run bench/pgbench-select.lua --lua-path "$work/lua" \
    --dsn "$DSN" --workers "$WORKERS" --connections "$CONNECTIONS" --warmup 2s --duration "$DURATION" \
    --progress 0 >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  sed -n 's/^tps //p' "$work/out"
}

echo "band: pgbench-select.lua, $WORKERS workers, $CONNECTIONS connections, ${DURATION}s (+2s warmup), $ROUNDS rounds each, sample interval ${INTERVAL}s"
: >"$work/plain"; : >"$work/observed"; : >"$work/share"
for r in $(seq "$ROUNDS"); do
  # alternate which goes first, so a drift in the machine favours neither
  if [ $((r % 2)) -eq 1 ]; then order="0 1"; else order="1 0"; fi
  for o in $order; do
    tps=$(band "$o")
    if [ "$o" = 1 ]; then
      echo "$tps" >>"$work/observed"
      set -- $(sed -n 's/^cpu //p' "$work/out")
      echo "$3" >>"$work/share"
      printf "round %d observed %12.1f tps  (%s samples, %s; observer CPU: backend %ss, controller thread %ss = %.3f%% of the machine; %s)\n" \
        "$r" "$tps" "$(sed -n 's/^rounds //p' "$work/out")" "$(sed -n 's/^observer //p' "$work/out")" "$1" "$2" \
        "$(awk -v s="$3" 'BEGIN { print 100 * s }')" "$(sed -n 's/^bottleneck //p' "$work/out")"
    else
      echo "$tps" >>"$work/plain"
      printf "round %d plain    %12.1f tps\n" "$r" "$tps"
    fi
  done
done
plain=$(median <"$work/plain"); observed=$(median <"$work/observed")
lo=$(sort -g "$work/plain" | head -1); hi=$(sort -g "$work/plain" | tail -1)
share=$(median <"$work/share")
awk -v p="$plain" -v o="$observed" -v lo="$lo" -v hi="$hi" -v share="$share" 'BEGIN {
  printf "median: plain %.1f tps, observed %.1f tps; observed/plain = %.4f (%+.2f%%)\n", p, o, o / p, 100 * (o / p - 1)
  printf "noise: the plain rounds spread over %.1f%% of their median; a difference smaller than that is not a measurement\n", 100 * (hi - lo) / p
  if (share >= 0) printf "observer CPU (its backend + the controller thread), median: %.3f%% of the machine\n", 100 * share
}'
