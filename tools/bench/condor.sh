#!/usr/bin/env bash
# make bench-condor: afmc's condor collector at pool scale, each target
# measured beside its reference in the same run (the ratios are what the
# targets are stated in: a shared 2-core VM is noisy, run it more than
# once). Fakes stand in for condor (testdata/condor/bin), answering after
# a delay per schedd; tools/sink for the endpoint.
#  1. 200,000 jobs as condor_q prints them for afmc's -attributes, `afmc
#     collect condor --json`, beside the original's parse of its -format
#     text with Python string splits: at most 0.8 of its wall time, at
#     most 64 MiB.
#  2. The same with --post --batch 500 to a sink answering after 50 ms
#     (at most 64 MiB), then with --compress gzip: the bytes each sends.
#  3. One document per POST for 30 s: the rate, and the run's warning.
#  4. 200,000 finished jobs from condor_history: at most 64 MiB.
#  5. Five schedds answering after 1.5 s, --condor-global beside the
#     slowest schedd alone: at most 1.5 times its wall time.
#  6. 1,000,000 jobs over five schedds answering after 0.3 to 1.5 s:
#     --json within 64 MiB, beside the slowest schedd alone; then --post
#     --batch 500 to the 50 ms sink: every document delivered within 1.1
#     times the round-trip limit (requests x 50 ms / 4 in flight). A
#     million jobs are some 170 MB of documents: --spool-max-bytes is
#     raised to hold them.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${AFMC_BIN:-bin/afmc}
jobs=${JOBS:-200000}
pooljobs=${POOL_JOBS:-200000} # each of five schedds'
runs=${RUNS:-5}
dir=$(mktemp -d)
sinkpid=
cleanup() {
	[ -n "$sinkpid" ] && kill "$sinkpid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

go build -o "$dir/sink" ./tools/sink
go build -o "$dir/condorgen" ./tools/condorgen
echo '{}' >"$dir/afmc.yaml"
export AFMC_CONFIG="$dir/afmc.yaml" AFMC_CLUSTER=BENCH
export AFMC_TOKEN=bench-token-0123456789abcdef
common=(--condor-timeout 10m --collector-timeout 11m --timeout 20m)

# fakes DIR: a scenario directory holding the fake condor tools.
fakes() {
	mkdir -p "$1"
	cp testdata/condor/bin/condor_q testdata/condor/bin/condor_history testdata/condor/bin/condor_status "$1/"
	printf '[\n]\n' >"$1/history.out"
}

# The attributes afmc asks condor_q for, from a call it made.
fakes "$dir/probe"
"$bin" collect condor --condor-bin-dir "$dir/probe" --json --state-dir "$dir/probe/state" >/dev/null
attrs=$(tr '\037' '\n' <"$dir/probe/argv.log" | grep -A1 -x -- -attributes | sed -n 2p)

echo "== 1. $jobs jobs, afmc beside the original's -format parse"
one="$dir/one"
fakes "$one"
"$dir/condorgen" -n "$jobs" -attributes "$attrs" -o "$one/jobs.out"
"$dir/condorgen" -n "$jobs" -format -o "$one/format.out"
echo "condor_q -json for afmc's -attributes: $(($(stat -c %s "$one/jobs.out") / jobs)) bytes a job; the original's -format text: $(($(stat -c %s "$one/format.out") / jobs))"
go run ./tools/procbench -n "$runs" -max-rss-mib 64 -max-ratio 0.8 \
	-vs "python3 tools/bench/formatsplit.py $one/condor_q" -- \
	"$bin" collect condor --condor-bin-dir "$one" --state-dir "$one/state" "${common[@]}" --json

# sink starts a loopback endpoint answering after 50 ms; AFMC_URL names it.
sink() {
	rm -f "$dir/url"
	"$dir/sink" -delay 50ms -url-file "$dir/url" >"$dir/count" &
	sinkpid=$!
	while [ ! -s "$dir/url" ]; do sleep 0.1; done
	export AFMC_URL=$(cat "$dir/url")
}
# stop_sink stops it; $docs $requests $bytes $span are what it got.
stop_sink() {
	kill "$sinkpid"
	wait "$sinkpid" || true
	sinkpid=
	read -r docs requests bytes span <"$dir/count"
}

echo "== 2. $jobs jobs, --post --batch 500, 50 ms a request"
sink
go run ./tools/procbench -n 3 -max-rss-mib 64 -- \
	"$bin" collect condor --condor-bin-dir "$one" --state-dir "$one/state" "${common[@]}" --post --batch 500
stop_sink
for compress in none gzip; do
	sink
	"$bin" collect condor --condor-bin-dir "$one" --state-dir "$one/state" "${common[@]}" --post --batch 500 --compress "$compress"
	stop_sink
	echo "--compress $compress: $docs documents in $requests requests, $bytes bytes"
	eval "bytes_$compress=$bytes"
done
awk -v a="$bytes_none" -v b="$bytes_gzip" 'BEGIN { printf "gzip sends %.1f times fewer bytes\n", a / b }'

echo "== 3. one document per POST, 50 ms a request, a 30 s run"
sink
rm -rf "$one/state"
start=$(date +%s.%N)
"$bin" collect condor --condor-bin-dir "$one" --state-dir "$one/state" --post --timeout 30s 2>"$dir/stderr" || true # exit 3: the rest waits in the spool
end=$(date +%s.%N)
stop_sink
awk -v n="$docs" -v s="$start" -v e="$end" -v jobs="$jobs" 'BEGIN {
	t = e - s; r = n / t
	printf "%d documents in %.1f s, %.0f docs/s: %d jobs would take %.0f min\n", n, t, r, jobs, jobs / r / 60
}'
echo "its warning: $(grep -o 'last_failure=.*' "$dir/stderr" | head -1)"

echo "== 4. $jobs finished jobs from condor_history"
hist="$dir/hist"
fakes "$hist"
: >"$hist/jobs.out"
"$dir/condorgen" -n "$jobs" -history -now "$(date +%s)" -attributes GlobalJobId,Owner,ClusterId,ProcId,JobStatus,RemoteWallClockTime,JobFinishedHookDone -o "$hist/history.out"
# A dry run reads them all every time: no checkpoint moves.
go run ./tools/procbench -n 3 -max-rss-mib 64 -- \
	"$bin" collect condor --condor-bin-dir "$hist" --state-dir "$hist/state" "${common[@]}" --condor-history-since 2h --json --dry-run
n=$("$bin" collect condor --condor-bin-dir "$hist" --state-dir "$hist/state" "${common[@]}" --condor-history-since 2h --json --dry-run | grep -c '"state":"finished"')
echo "finished jobs reported: $n"

# pool DIR N JOBS DELAYS...: a pool of N schedds in DIR, schedd i with
# JOBS jobs, answering every call after DELAYS[i] seconds; DIR/alone is
# the slowest schedd by itself.
pool() {
	local p=$1 n=$2 each=$3
	shift 3
	fakes "$p"
	fakes "$p/alone"
	: >"$p/status.out"
	local i slowest=0 slow=
	for i in $(seq 1 "$n"); do
		local s="schedd0$i.af.example.org" delay=$1
		shift
		echo "$s" >>"$p/status.out"
		"$dir/condorgen" -n "$each" -seed "$i" -schedd "$s" -first-cluster $((i * 1000000)) -attributes "$attrs" -o "$p/jobs@$s.out"
		printf '[\n]\n' >"$p/history@$s.out"
		echo "$delay" >"$p/jobs@$s.delay"
		echo "$delay" >"$p/history@$s.delay"
		if awk -v a="$delay" -v b="$slowest" 'BEGIN { exit !(a > b) }'; then slowest=$delay slow=$s; fi
	done
	cp "$p/jobs@$slow.out" "$p/alone/jobs.out"
	echo "$slowest" >"$p/alone/jobs.delay"
	echo "$slowest" >"$p/alone/history.delay"
}

echo "== 5. five schedds answering after 1.5 s: --condor-global beside the slowest alone"
pool "$dir/calls" 5 1000 1.5 1.5 1.5 1.5 1.5
go run ./tools/procbench -n 3 -max-ratio 1.5 \
	-vs "$bin collect condor --condor-bin-dir $dir/calls/alone --state-dir $dir/calls/alone/state --json" -- \
	"$bin" collect condor --condor-bin-dir "$dir/calls" --state-dir "$dir/calls/state" --condor-global "${common[@]}" --json

echo "== 6. $((5 * pooljobs)) jobs over five schedds answering after 0.3 to 1.5 s"
pool "$dir/big" 5 "$pooljobs" 0.3 0.6 0.9 1.2 1.5
go run ./tools/procbench -n 3 -max-rss-mib 64 \
	-vs "$bin collect condor --condor-bin-dir $dir/big/alone --state-dir $dir/big/alone/state --json" -- \
	"$bin" collect condor --condor-bin-dir "$dir/big" --state-dir "$dir/big/state" --condor-global "${common[@]}" --json
for i in 1 2; do
	sink
	/usr/bin/time -f "%M %e" -o "$dir/time" \
		"$bin" collect condor --condor-bin-dir "$dir/big" --state-dir "$dir/big/state" --condor-global "${common[@]}" --post --batch 500 --spool-max-bytes 512MiB
	stop_sink
	read -r rss wall <"$dir/time"
	awk -v d="$docs" -v q="$requests" -v s="$span" -v rss="$rss" -v wall="$wall" 'BEGIN {
		limit = q * 0.05 / 4
		printf "--post --batch 500: %d documents delivered in %d requests, the run %.1f s and %.1f MiB; delivery %.1f s, the round-trip limit %.1f s: ratio %.2f (target 1.1)\n", d, q, wall, rss / 1024, s, limit, s / limit
		if (rss > 64 * 1024) { print "FAIL: over 64 MiB"; exit 1 }
	}'
done
