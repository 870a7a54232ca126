#!/usr/bin/env bash
# Puts natlab's load generator beside wrk and vegeta on the same testbed:
# one NAT box (full port range), one client host, one HTTP/1.1 backend,
# with keep-alive and without (a new connection per request). Every tool
# runs from inside the client host's namespace, one after another, against
# the one backend of one testbed, so the rows share the NAT and the cores.
# Run as root.
# Usage: scripts/compare-tools.sh [SECONDS]   (prints a markdown table)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
scenario=docs/bench/http-keepalive.yaml
export PATH="$PATH:$(go env GOPATH)/bin"
go build -o /tmp/natlab-bench ./cmd/natlab
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v vegeta >/dev/null || go install github.com/tsenart/vegeta/v12@v12.13.0
command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq >/dev/null; }

# One testbed kept up by natlab for the outside tools.
log=$(mktemp)
/tmp/natlab-bench up "$scenario" >"$log" 2>&1 &
up_pid=$!
trap 'kill -INT $up_pid 2>/dev/null || true; wait $up_pid 2>/dev/null || true' EXIT
for _ in $(seq 300); do grep -q "keeps it up" "$log" && break; sleep 0.1; done
run_id=$(sed -n 's/^testbed \([0-9a-f]*\) is up.*/\1/p' "$log")
backend=$(awk '$1=="api" {print $7}' "$log" | tr -d ,)
[ -n "$run_id" ] && [ -n "$backend" ] || { cat "$log" >&2; echo "testbed did not come up" >&2; exit 1; }
in_client() { ip netns exec "natlab-$run_id-client" "$@"; }
url="http://$backend:8080/"

# wrk: -c32 keeps 32 connections; "Connection: close" makes it reconnect
# for every request (the server closes, so TIME_WAIT stays on its side).
wrk_row() { # wrk_row LABEL [wrk args]
	local label=$1 out
	shift
	out=$(in_client wrk -t2 -c32 -d"${secs}s" --latency "$@" "$url")
	printf '| %s | %s | %s | %s |\n' "$label" \
		"$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out")" \
		"$(awk '$1=="99%" {print $2}' <<<"$out")" \
		"$(awk '/Non-2xx|Socket errors/ {e=e $0 "; "} END {print (e=="" ? "0" : e)}' <<<"$out")"
}

# vegeta: an open-ended closed loop of 32 workers (-rate=0 needs
# -max-workers); -keepalive=false closes each connection after its request.
vegeta_row() { # vegeta_row LABEL [attack args]
	local label=$1 rep
	shift
	rep=$(echo "GET $url" | in_client vegeta attack -rate=0 -workers=32 -max-workers=32 -duration="${secs}s" "$@" | vegeta report -type=json)
	printf '| %s | %s | %s | %s |\n' "$label" \
		"$(jq -r '.throughput | floor' <<<"$rep")" \
		"$(jq -r '"\(.latencies["99th"] / 1e6 * 100 | floor / 100)ms"' <<<"$rep")" \
		"$(jq -r '(.requests - (.status_codes["200"] // 0))' <<<"$rep")"
}

rows=$(mktemp)
{
	wrk_row "wrk -t2 -c32, keep-alive"
	wrk_row "wrk -t2 -c32, Connection: close" -H "Connection: close"
	vegeta_row "vegeta attack -max-workers=32, keep-alive"
	vegeta_row "vegeta attack -max-workers=32, -keepalive=false" -keepalive=false
} >"$rows"
kill -INT $up_pid
wait $up_pid || true
trap - EXIT

# natlab's own load on a testbed of the same shape, keep-alive and close.
natlab_row() { # natlab_row LABEL POOL
	local out
	out=$(mktemp -d)
	/tmp/natlab-bench run "$scenario" --out "$out" \
		--set "phases[0].duration=${secs}s" --set "phases[0].load.pool=$2" \
		--set 'assert[0].expect=error_rate < 100%' >/dev/null
	jq -r --arg name "$1" --argjson secs "$secs" \
		'"| \($name) | \(.totals.ok / $secs | floor) | \(.latency.total.request.p99_s * 1e5 | floor / 100)ms | \(.totals.attempts - .totals.ok) |"' \
		"$out/report.json"
	rm -rf "$out"
}
natlab_row "natlab http1, keepalive pool 32, concurrency 32" keepalive >>"$rows"
natlab_row "natlab http1, pool none (a connection per request), concurrency 32" none >>"$rows"

echo "| tool (${secs} s, 32 connections or workers) | requests/s | p99 | not 200 / failed |"
echo "|---|---|---|---|"
cat "$rows"
