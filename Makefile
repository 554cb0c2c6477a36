# Polar Gosling. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
BIN := bin
DATA := .data
STORE ?= sqlite://$(DATA)/gosling.db
# The test command CI runs (through .ci/run). DynamoDB Local is started for
# the run unless DYNAMODB_ENDPOINT already points at one.
GOTEST_FLAGS ?= -count=1 -timeout 20m

.PHONY: help build run test test-race bench fuzz lint tools fmt vet clean

help: ## this list
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build every binary into bin/
	$(GO) build -o $(BIN)/ ./cmd/...

run: build ## run MotherGoose on the embedded SQLite store in .data/
	@mkdir -p $(DATA)
	$(BIN)/mothergoose serve --store $(STORE)

tools: ## install what the tests need (DynamoDB Local)
	scripts/dynamodb-local.sh install

test: tools ## run every test, the DynamoDB contract suite against DynamoDB Local
	scripts/with-dynamodb.sh $(GO) test $(GOTEST_FLAGS) ./...

test-race: tools ## the tests under the race detector
	scripts/with-dynamodb.sh $(GO) test -race $(GOTEST_FLAGS) ./...

bench: ## print the performance figures (see README, Performance)
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./adapters/sqlite/ ./adapters/fly/ | tee /dev/stderr | scripts/bench-table.sh

fuzz: ## fuzz the .fly parser for 60 s (CI runs the committed seed corpus as part of make test)
	$(GO) test -run '^$$' -fuzz '^FuzzParseFile$$' -fuzztime 60s ./adapters/fly/

lint: vet ## gofmt check, go vet, golangci-lint when installed
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	@if command -v golangci-lint >/dev/null; then golangci-lint run ./...; else echo "golangci-lint not installed (go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@latest); skipped"; fi

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BIN) $(DATA)
