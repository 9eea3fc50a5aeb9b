# The Temporal CLI (dev server and Web UI) is built from source at a pinned
# version into .tools/bin, which git ignores.
TEMPORAL_CLI_VERSION := v1.5.1
TOOLS := $(CURDIR)/.tools/bin
TEMPORAL := $(TOOLS)/temporal
GO ?= go

.PHONY: all build demo bench test test-unit tools clean

all: build

build:
	$(GO) build -o bin/ ./worker ./starter ./cmd/...

tools: $(TEMPORAL)

$(TEMPORAL):
	@echo "Building the Temporal CLI $(TEMPORAL_CLI_VERSION) (a few minutes the first time)..."
	GOBIN=$(TOOLS) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

# The main job: a dev server, the Sprig stand-in and a worker, two runs of a
# sync on the sample snapshots, then everything is stopped.
demo: build tools
	./bin/demo -temporal $(TEMPORAL)

# Measurements of planning, delivery and history cost on this machine, as
# one table (docs/benchmarks.md). Inputs are kept in .bench and reused.
bench: build tools
	./bin/bench -temporal $(TEMPORAL)

# Every test, including integration tests on a real Temporal dev server, and
# the reader comparison in the nested module compare/.
test: tools
	TEMPORAL_CLI=$(TEMPORAL) $(GO) test -timeout 25m -p 2 ./...
	cd compare && $(GO) test -timeout 10m ./...

# Unit tests only: no Temporal dev server.
test-unit:
	$(GO) test -short -timeout 10m ./...

clean:
	rm -rf bin .demo
