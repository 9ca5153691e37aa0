#!/usr/bin/env bash
# make fuzz: every fuzz target of the module (func FuzzX in a _test.go
# file, found afresh each time, so a new one is picked up) for FUZZTIME,
# one after another: the machine's cores go to one target's workers at a
# time. A new input that widens coverage is minimized for FUZZMINIMIZETIME
# at most (Go's default of 60s stalls a short run on a large seed). A
# crasher is written to the package's testdata/fuzz/FuzzX/, to be kept as
# a seed once the bug is fixed. Every target runs; the status is 1 if any
# failed.
#
# Go 1.26's fuzz coordinator may end a duration-bounded run with "context
# deadline exceeded" at the deadline, under load, having found nothing
# (golang/go#75804, fixed in Go 1.27): a run that says so and wrote no
# input is reported, not counted as a failure.
set -uo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-5s}

# execs is the count of the run's last progress line.
execs() { grep -o 'execs: [0-9]*' "$out" | tail -n 1 | sed 's/^/: /'; }

failed=()
for file in $(grep -rl --include='*_test.go' --exclude-dir=.git --exclude-dir=testdata '^func Fuzz' . | sort); do
	pkg=$(dirname "$file")
	for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
		corpus=$pkg/testdata/fuzz/$target
		before=$(ls "$corpus" 2>/dev/null | wc -l)
		out=$(mktemp)
		if "$GO" test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" "$pkg" >"$out" 2>&1; then
			echo "ok   $pkg $target$(execs)"
		elif [ "$(ls "$corpus" 2>/dev/null | wc -l)" -eq "$before" ] && grep -q 'context deadline exceeded' "$out"; then
			echo "ok   $pkg $target$(execs) (ended by golang/go#75804's 'context deadline exceeded'; no input written)"
		else
			echo "FAIL $pkg $target"
			cat "$out"
			failed+=("$pkg $target")
		fi
		rm -f "$out"
	done
done
if [ ${#failed[@]} -gt 0 ]; then
	printf 'fuzz targets that failed:\n'
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
