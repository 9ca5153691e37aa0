# afmc — see README.md. `make` builds bin/afmc; `make test` is what CI runs.
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
BIN         := bin/afmc
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
export CGO_ENABLED := 0

.PHONY: all build run test lint bench bench-go bench-process clean

all: build

# A static binary: it runs as it is on any login node, and starts fast.
build:
	$(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/afmc

# The main job with no site configuration: every collector, printed as NDJSON.
run: build
	./$(BIN) collect --all --json

test:
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench: bench-go bench-process

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Whole-process cost of the host collectors: targets 6 ms median wall time
# and 10 MiB peak RSS on the 2-core reference machine.
bench-process: build
	@dir=$$(mktemp -d) && AFMC_STATE_DIR=$$dir $(GO) run ./tools/procbench -n 100 -max-ms 6 -max-rss-mib 10 -- ./$(BIN) collect host --json; rc=$$?; rm -rf $$dir; exit $$rc

clean:
	rm -rf bin
