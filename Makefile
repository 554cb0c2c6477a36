# Polar Gosling. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
BIN := bin
DATA := .data
STORE ?= sqlite://$(DATA)/gosling.db
# The test command CI runs (through .ci/run). DynamoDB Local and fauxqs (a
# local S3) are started for the run unless DYNAMODB_ENDPOINT, S3_ENDPOINT
# already point at them.
GOTEST_FLAGS ?= -count=1 -timeout 20m

TOFU := $(CURDIR)/.tools/bin/tofu
# The compute modules tested with `tofu test`; the cloud ones through their
# provider-free wrapper in tests/offline (their plugins cannot be fetched here).
TOFU_TEST_DIRS := modules/compute/local modules/compute/aws/tests/offline modules/compute/yandex/tests/offline

.PHONY: help build run test test-race test-modules fmt-check cross-build bench fuzz lint tools fmt vet clean

help: ## this list
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build every binary into bin/
	$(GO) build -o $(BIN)/ ./cmd/...

run: build ## run MotherGoose on the embedded SQLite store in .data/, syncing the example Nest in .data/nest
	@command -v tofu >/dev/null || scripts/tofu-install.sh # the provisioner runs OpenTofu (built once, ~7 min)
	@mkdir -p $(DATA)
	@[[ -d $(DATA)/nest ]] || $(BIN)/gosling init $(DATA)/nest
	@echo "MotherGoose syncs $(DATA)/nest every 10s: edit a file there, commit, and watch the log."
	@echo "Then: $(BIN)/mothergoose --store $(STORE) events --limit 20, or the API:"
	@echo "  curl localhost:8080/health; curl -H 'Authorization: Bearer dev-api-token' localhost:8080/eggs"
	@echo "  curl -X POST -H 'X-Trigger-Auth: dev-trigger-token' localhost:8080/internal/sync-git"
	@echo "The provisioner keeps each local egg's apex min_count runner processes (curl -H 'Authorization: Bearer dev-api-token' localhost:8080/runners)."
	@echo "Each pending job goes to an idle runner or makes a new one (12345: the example egg's project id; send 1001, then 1002):"
	@echo "  scripts/send-job-hook.sh 12345 \"\$$(cat $(DATA)/nest/.secrets/example-egg-webhook-secret)\" pending 1001"
	@echo "Remove the egg (its folder and its eggs_entities entry) to watch its runners terminate at the next sync:"
	@echo "  $(BIN)/gosling remove egg example-egg --nest $(DATA)/nest --yes && git -C $(DATA)/nest -c user.name=operator -c user.email=operator@localhost commit -am 'remove example-egg'"
	$(BIN)/mothergoose serve --store $(STORE) --nest $(DATA)/nest --data-dir $(DATA) --sync-interval 10s \
		--listen 127.0.0.1:8080 --api-token dev-api-token --trigger-token dev-trigger-token \
		--gosling-bin $(BIN)/gosling $$([[ -x $(TOFU) ]] && echo --tofu $(TOFU))

tools: ## install what the tests need (DynamoDB Local, fauxqs, OpenTofu into .tools/bin)
	scripts/dynamodb-local.sh install
	scripts/fauxqs.sh install
	scripts/tofu-install.sh

test: tools fmt-check test-modules cross-build ## run every test, the DynamoDB contract suite against DynamoDB Local, the S3 blob store against fauxqs
	if [[ -x $(TOFU) ]]; then export TOFU_BIN=$(TOFU); fi; \
	scripts/with-dynamodb.sh scripts/with-fauxqs.sh $(GO) test $(GOTEST_FLAGS) ./...

test-modules: tools ## fmt-check and `tofu test` every compute module (modules/compute/*/tests)
	$(TOFU) fmt -check -recursive modules/
	@work="$$(mktemp -d)"; trap 'rm -rf "$$work"' EXIT; \
	for d in $(TOFU_TEST_DIRS); do \
		echo "== tofu test $$d"; \
		data="$$work/$$(echo $$d | tr / _)"; mkdir -p "$$data/run"; \
		args=(-test-directory=tests -var "work_dir=$$data/run"); \
		[[ $$d == */tests/offline ]] && args=(-test-directory=..); \
		( cd $$d && export TF_DATA_DIR="$$data/.terraform" && \
		  $(TOFU) init -input=false -no-color >"$$data/init.log" || { cat "$$data/init.log"; exit 1; }; \
		  $(TOFU) test -no-color "$${args[@]}" ) || exit 1; \
	done

fmt-check: ## fail when a Go file is not gofmt-formatted
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

cross-build: ## build every package for macOS (arm64) and Windows (amd64), where operators build too
	GOOS=darwin GOARCH=arm64 $(GO) build ./...
	GOOS=windows GOARCH=amd64 $(GO) build ./...

test-race: tools ## the tests under the race detector
	scripts/with-dynamodb.sh scripts/with-fauxqs.sh $(GO) test -race $(GOTEST_FLAGS) ./...

bench: ## print the performance figures (see README, Performance)
	if [[ -x $(TOFU) ]]; then export TOFU_BIN=$(TOFU); fi; \
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./adapters/sqlite/ ./adapters/fly/ ./commands/nestsync/ ./commands/uglyfox/ ./adapters/tofu/ ./adapters/httpapi/ ./adapters/secrets/ ./cmd/mothergoose/ | tee /dev/stderr | scripts/bench-table.sh

fuzz: ## fuzz the .fly parser and the webhook handler for 30 s each (CI runs both seed corpora as part of make test)
	$(GO) test -run '^$$' -fuzz '^FuzzParseFile$$' -fuzztime 30s ./adapters/fly/
	$(GO) test -run '^$$' -fuzz '^FuzzWebhook$$' -fuzztime 30s ./adapters/httpapi/

lint: fmt-check vet ## gofmt check, go vet, golangci-lint when installed
	@if command -v golangci-lint >/dev/null; then golangci-lint run ./...; else echo "golangci-lint not installed (go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@latest); skipped"; fi

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BIN) $(DATA)
