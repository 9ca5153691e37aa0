#!/usr/bin/env bash
# Prints the path of nfpm at the version the project pins (NFPM_VERSION,
# v2.45.2 by default), looking in PATH, then in $(go env GOBIN) and
# $(go env GOPATH)/bin, where `go install` puts it. Exits 1, printing
# nothing, when none is that version: `make tools` then installs it, and
# only then reaches the module proxy.
set -uo pipefail
want=${NFPM_VERSION:-v2.45.2}

candidates=()
if p=$(command -v nfpm 2>/dev/null); then candidates+=("$p"); fi
if command -v go >/dev/null 2>&1; then
    gobin=$(go env GOBIN)
    [ -n "$gobin" ] && candidates+=("$gobin/nfpm")
    candidates+=("$(go env GOPATH)/bin/nfpm")
fi

for c in "${candidates[@]}"; do
    [ -x "$c" ] || continue
    # Built by `go install`: the module version is in the binary.
    if command -v go >/dev/null 2>&1 &&
        go version -m "$c" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/goreleaser/nfpm/v2[[:space:]]+$want([[:space:]]|$)"; then
        echo "$c"
        exit 0
    fi
    # A release build says its version itself.
    if "$c" --version 2>/dev/null | grep -Eq "^GitVersion:[[:space:]]+v?${want#v}$"; then
        echo "$c"
        exit 0
    fi
done
exit 1
