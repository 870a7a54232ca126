#!/usr/bin/env bash
# Puts natlab's load generator beside wrk on the same testbed: one NAT box
# (full port range), one client host, one HTTP/1.1 backend. Run as root.
# Usage: scripts/compare-tools.sh   (prints a markdown table)
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=docs/bench/http-keepalive.yaml
go build -o /tmp/natlab-bench ./cmd/natlab
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

# wrk from inside the client host of a testbed natlab keeps up.
log=$(mktemp)
/tmp/natlab-bench up "$scenario" >"$log" 2>&1 &
up_pid=$!
trap 'kill $up_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "keeps it up" "$log" && break; sleep 0.1; done
run_id=$(sed -n 's/^testbed \([0-9a-f]*\) is up.*/\1/p' "$log")
backend=$(awk '$1=="api" {print $7}' "$log" | tr -d ,)
wrk_out=$(ip netns exec "natlab-$run_id-client" wrk -t2 -c32 -d5s --latency "http://$backend:8080/")
kill -INT $up_pid; wait $up_pid || true
wrk_rps=$(awk '/Requests\/sec/ {print $2}' <<<"$wrk_out")
wrk_p99=$(awk '$1=="99%" {print $2}' <<<"$wrk_out")

# natlab's own load, same scenario.
out=$(mktemp -d)
/tmp/natlab-bench run "$scenario" --out "$out" >/dev/null
read -r nl_rps nl_p99 < <(python3 - "$out/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = r["totals"]["ok"]
print(round(ok / 5.0), "%.2fms" % (r["latency"]["total"]["request"]["p99_s"] * 1000))
PY
)
echo "| tool | requests/s | p99 |"
echo "|---|---|---|"
echo "| wrk -t2 -c32 -d5s | $wrk_rps | $wrk_p99 |"
echo "| natlab (http1, keepalive pool 32, concurrency 32, 5 s) | $nl_rps | $nl_p99 |"
