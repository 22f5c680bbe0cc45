# Sluice developer tasks. `make` or `make help` lists them.

GO       ?= go
BIN      ?= bin/sluice
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/sluicehq/sluice/internal/cli.Version=$(VERSION)
GOFILES   = $(shell find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -not -path './vendor/*')

.DEFAULT_GOAL := help
.PHONY: help run test test-short vet fmt lint bench build ci clean

help: ## Show this help
	@echo "Usage: make <target>"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## Run the server (API + engine) on 127.0.0.1:8080 with sqlite:sluice.db
	$(GO) run ./cmd/sluice serve

test: ## Run every test with the race detector (integration tests need SLUICE_TEST_*_URL, see .ci/run)
	$(GO) test -race ./...

test-short: ## Run the fast tests only (-short, no race detector)
	$(GO) test -short ./...

vet: ## Run go vet
	$(GO) vet ./...

fmt: ## Format every Go file with gofmt (what CI checks)
	@gofmt -l -w $(GOFILES)

lint: ## Run golangci-lint (.golangci.yml) if installed
	@if command -v golangci-lint >/dev/null 2>&1; then \
		golangci-lint run ./...; \
	else \
		echo "golangci-lint is not installed; skipping."; \
		echo "Install it with: go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@latest"; \
		echo "(The dependency rule is also enforced by go test ./internal/archtest/.)"; \
	fi

bench: ## Run the benchmarks (no tests) with allocation counts
	$(GO) test -run '^$$' -bench . -benchmem ./...

build: ## Build bin/sluice, stamped with the git version
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/sluice

ci: ## Run the CI script (.ci/run): services, gofmt, vet, race tests
	bash .ci/run

clean: ## Remove build output and test caches
	rm -rf bin/ dist/ coverage.out
	$(GO) clean -testcache
