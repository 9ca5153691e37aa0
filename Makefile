# afmc — see README.md. `make` builds bin/afmc; `make test` is what CI runs.
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# The commit's date, not the clock's: the same commit builds the same binary.
DATE        ?= $(shell git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)
# Packages need a version such as 1.2.3 or 1.2.3-rc1.
PKG_VERSION ?= $(patsubst v%,%,$(shell git describe --tags --match 'v[0-9]*' 2>/dev/null || echo 0.0.0-dev))
BIN         := bin/afmc
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
NFPM_VERSION := v2.45.2
NFPM        := github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)
export CGO_ENABLED := 0

.PHONY: all build run test fuzz lint tools package bench bench-go bench-process bench-condor clean

all: build

# A static binary: it runs as it is on any login node, and starts fast.
build:
	TZ=UTC $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)" -o $(BIN) ./cmd/afmc

# The main job with no site configuration: every collector, printed as NDJSON.
run: build
	./$(BIN) collect --all --json

# The tests inspect the RPM and DEB built with nfpm: installed first, so
# the tests themselves reach nothing beyond loopback.
test: tools
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...

# nfpm at the pinned version, installed from the module proxy only when
# it is not there already (packaging/find-nfpm.sh looks where build.sh does).
tools:
	@NFPM_VERSION=$(NFPM_VERSION) packaging/find-nfpm.sh >/dev/null || { echo "$(GO) install $(NFPM)"; $(GO) install $(NFPM); }

# Every fuzz target for FUZZTIME, one after another (tools/fuzz/run.sh);
# their seeds already run as tests under `make test`.
FUZZTIME         ?= 10s
FUZZMINIMIZETIME ?= 5s
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) FUZZMINIMIZETIME=$(FUZZMINIMIZETIME) tools/fuzz/run.sh

# RPM and DEB in dist/: the binary, the systemd units, the example config
# (not replaced on upgrade), the man page and completions.
package: build tools
	packaging/build.sh $(BIN) $(PKG_VERSION) dist

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench: bench-go bench-process bench-condor

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Whole-process cost of `afmc collect host --json` with every collector
# linked in, beside a Go hello-world and the afmc of BENCH_REF in the same
# run: 10 MiB peak RSS at most, and both builds' ratios to the hello-world.
bench-process: build
	tools/bench/process.sh

# condor at pool scale, each target beside its reference in the same run
# (tools/bench/condor.sh says which): 200,000 jobs beside the original's
# parse, 64 MiB at most, delivery, 200,000 finished jobs, and a million
# jobs over five distant schedds with --condor-global.
bench-condor: build
	tools/bench/condor.sh

clean:
	rm -rf bin dist
