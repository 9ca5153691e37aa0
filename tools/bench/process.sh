#!/usr/bin/env bash
# make bench-process: the whole-process cost of `afmc collect host --json`
# with every collector linked in, in one run beside
#  - a Go hello-world, the baseline of the ratio;
#  - afmc as built at BENCH_REF (default: the last commit before the ssh,
#    jupyter and condor collectors, the ratio issue 10 must not exceed),
#    when that commit is in this clone's history.
# Fails when the median peak RSS is over 10 MiB. The ratios are reported:
# a 2-core VM's noise is a few per cent, more than a target could tell.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${AFMC_BIN:-bin/afmc}
ref=${BENCH_REF:-dc5d0b9}
runs=${RUNS:-300}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

go build -o "$dir/hello" ./tools/hello
# Every program is measured as a copy written by cp, as a package manager
# writes it: the same bytes written by the linker start some 10% slower
# here (how the page cache holds the file), which would swamp the ratio.
cp "$bin" "$dir/afmc"
# Valid JSON and YAML: the reference build reads JSON config files only.
echo '{}' >"$dir/afmc.json"
export AFMC_CONFIG="$dir/afmc.json"
vs=(-vs "$dir/hello")
if git cat-file -e "$ref^{commit}" 2>/dev/null; then
	mkdir "$dir/ref"
	git archive "$ref" | tar -x -C "$dir/ref"
	(cd "$dir/ref" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dir/ref.bin" ./cmd/afmc)
	cp "$dir/ref.bin" "$dir/afmc-ref"
	# Its own state dir: the two builds' state files need not agree.
	vs+=(-vs "$dir/afmc-ref collect host --json --state-dir $dir/state-ref")
else
	echo "bench-process: $ref is not in this clone's history; measuring beside hello only" >&2
fi
go run ./tools/procbench -n "$runs" -max-rss-mib 10 "${vs[@]}" -- "$dir/afmc" collect host --json --state-dir "$dir/state"
