#!/usr/bin/env bash
# What one visit costs the server during the e2e phase, in figures a noisy host moves little:
# CPU milliseconds (all threads, and the SQLite writer alone) and bytes the writer wrote, per
# visit, read from /proc/<server>/task/*/{stat,io} every 0.2 s; e2e latency printed beside them.
# Several binaries alternate, round after round, so that drifts of the host hit each alike.
#
#   tests/bench/per_visit_cost.sh [-r ROUNDS] [-l LOADGEN] SERVER... [-- LOADGEN ARGS]
#   e.g. tests/bench/per_visit_cost.sh -r 3 /tmp/oshin-server-before build/release/server/app/oshin-server
set -euo pipefail
rounds=2
loadgen=build/release/tests/bench/oshin_loadgen
servers=()
while (($#)); do
  case $1 in
    -r) rounds=$2; shift 2 ;;
    -l) loadgen=$2; shift 2 ;;
    --) shift; break ;;
    *) servers+=("$1"); shift ;;
  esac
done
extra=("$@")
((${#servers[@]})) || { echo "usage: $0 [-r ROUNDS] [-l LOADGEN] SERVER... [-- ARGS]" >&2; exit 2; }
rate=300
seconds=10
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tick=$(getconf CLK_TCK)

for ((r = 1; r <= rounds; r++)); do
  for server in "${servers[@]}"; do
    : >"$work/samples"
    "$loadgen" --mode full --server "$server" --rate $rate --seconds $seconds --fill-visits 0 \
      --ws-connections 10 --ws-visits 10 --get-seconds 1 "${extra[@]}" --out "$work/out.json" 2>&1 |
      while IFS= read -r line; do echo "$(date +%s.%N) $line"; done >"$work/log" &
    runner=$!
    pid=""
    for _ in $(seq 1 600); do
      pid=$(sed -n 's/.*server pid \([0-9]*\) .*/\1/p' "$work/log" | head -1)
      [[ -n $pid ]] && break
      sleep 0.05
    done
    while [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; do
      all=0 writer=0 written=0
      for task in /proc/"$pid"/task/*; do
        { read -r name <"$task/comm"; } 2>/dev/null || continue
        ticks=$(awk '{print $14 + $15}' "$task/stat" 2>/dev/null) || continue
        [[ -z $ticks ]] && continue
        all=$((all + ticks))
        if [[ $name == oshin-db-writer ]]; then
          writer=$ticks
          written=$(awk '/^wchar/ {print $2}' "$task/io" 2>/dev/null || echo 0)
        fi
      done
      echo "$(date +%s.%N) $writer $all ${written:-0}" >>"$work/samples"
      sleep 0.2
    done
    wait "$runner" || true
    python3 - "$server" "$work" "$tick" <<'PY'
import json, sys
server, work, tick = sys.argv[1], sys.argv[2], float(sys.argv[3])
log = open(work + "/log").read().splitlines()
start = [float(l.split()[0]) for l in log if "e2e:" in l and "visits at" in l]
end = [float(l.split()[0]) for l in log if "e2e done" in l]
samples = [tuple(map(float, l.split())) for l in open(work + "/samples") if l.strip()]
if not start or not end or not samples:
    print(server, "no e2e phase measured")
    sys.exit(0)
near = lambda t: min(samples, key=lambda s: abs(s[0] - t))
a, b = near(start[0]), near(end[0])
out = json.load(open(work + "/out.json"))
visits = out.get("e2eVisits") or 1
ms = 1000.0 / tick
print("%s: e2e p50 %.2f ms p99 %.2f ms | per visit: server CPU %.2f ms, writer CPU %.2f ms, "
      "writer wrote %.0f KB" % (server, out.get("e2eP50Ms", -1), out.get("e2eP99Ms", -1),
                                (b[2] - a[2]) * ms / visits, (b[1] - a[1]) * ms / visits,
                                (b[3] - a[3]) / 1024 / visits))
PY
  done
done
