#!/usr/bin/env bash
# make bench-condor: a 200,000-job pool through afmc.
#  1. `afmc collect condor --json` beside python3's json.load of the same
#     condor_q -json output: at most half its wall time, at most 64 MiB.
#  2. The same with --post --batch 500 to a loopback sink that answers
#     after 50 ms: at most 64 MiB.
#  3. One document per POST to that sink for 30 s: the rate, and how long
#     a pool's worth would take.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${AFMC_BIN:-bin/afmc}
jobs=${JOBS:-200000}
dir=$(mktemp -d)
sinkpid=
cleanup() {
	[ -n "$sinkpid" ] && kill "$sinkpid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

go build -o "$dir/sink" ./tools/sink
go run ./tools/condorgen -n "$jobs" -o "$dir/jobs.out"
cp testdata/condor/bin/condor_q testdata/condor/bin/condor_history "$dir/"
cp testdata/condor/q-totals.json "$dir/totals.out"
printf '[\n]\n' >"$dir/history.out"
echo '{}' >"$dir/afmc.yaml"
export AFMC_CONFIG="$dir/afmc.yaml" AFMC_STATE_DIR="$dir/state" AFMC_CLUSTER=BENCH
export AFMC_TOKEN=bench-token-0123456789abcdef
args=(collect condor --condor-bin-dir "$dir" --condor-timeout 10m --collector-timeout 10m --timeout 20m)
echo "condor_q -json output of $jobs jobs: $(du -h "$dir/jobs.out" | cut -f1)"

go run ./tools/procbench -n 5 -max-rss-mib 64 -max-ratio 0.5 \
	-vs "python3 tools/bench/jsonload.py $dir/jobs.out" -- "$bin" "${args[@]}" --json

# sink starts a loopback endpoint answering after 50 ms; AFMC_URL names it.
sink() {
	rm -f "$dir/url"
	"$dir/sink" -delay 50ms -url-file "$dir/url" >"$dir/count" &
	sinkpid=$!
	while [ ! -s "$dir/url" ]; do sleep 0.1; done
	export AFMC_URL=$(cat "$dir/url")
}
stop_sink() {
	kill "$sinkpid"
	wait "$sinkpid" || true
	sinkpid=
}

sink
go run ./tools/procbench -n 3 -max-rss-mib 64 -- "$bin" "${args[@]}" --post --batch 500
stop_sink

# One per POST cannot deliver a pool in a cron interval: measure the rate.
sink
rm -rf "$dir/state"
start=$(date +%s.%N)
"$bin" "${args[@]}" --post --timeout 30s 2>/dev/null || true # exit 3: the rest waits in the spool
end=$(date +%s.%N)
stop_sink
awk -v n="$(cat "$dir/count")" -v s="$start" -v e="$end" -v jobs="$jobs" 'BEGIN {
	t = e - s; r = n / t
	printf "one document per POST, 50 ms answers, 4 in flight: %d documents in %.1f s, %.0f docs/s: %d jobs would take %.0f min\n", n, t, r, jobs, jobs / r / 60
}'
