# liveiso: see README.md. Every target works on a fresh Debian 12 machine;
# `setup` installs what the others need and is cheap once done.

SHELL := /bin/bash
GO ?= go
STATICCHECK ?= $(shell command -v staticcheck || echo "$$($(GO) env GOPATH)/bin/staticcheck")
# Packages with unit tests: everything but the end-to-end tests, which boot
# QEMU and run on their own below.
UNIT_PKGS = $(shell $(GO) list ./... | grep -v '/integration$$')

.PHONY: build man setup test unit-test integration-test lint demo bench clean

# Static (CGO_ENABLED=0): the binary is also the guest agent (agent/), which
# runs in guests without a C library.
build:
	CGO_ENABLED=0 $(GO) build -o bin/liveiso ./cmd/liveiso

# The man pages (man/liveiso.1, man/liveiso-build.1, ...), made from the same
# definitions as the help; `man -l man/liveiso-build.1` to read one.
man:
	$(GO) run ./cmd/liveiso man man

setup:
	scripts/setup.sh

# The checks and both suites run even when one fails, so one CI log shows
# them all.
test: setup
	@status=0; \
	$(MAKE) lint || status=1; \
	$(MAKE) unit-test || status=1; \
	$(MAKE) integration-test || status=1; \
	exit $$status

# -v so that every skipped test and its reason show in the log (a skip is
# allowed only for a documented reason, such as a test that needs root, and
# must be seen); the whole output is in .unit-test.log and is printed when a
# test fails.
unit-test:
	@set -o pipefail; \
	if $(GO) test -race -v $(UNIT_PKGS) >.unit-test.log 2>&1; then \
		grep -E -B1 '^\s*--- SKIP' .unit-test.log | grep -v -e '^--$$' -e '^=== ' || true; \
		grep -E '^(ok|FAIL)\s' .unit-test.log; \
	else \
		cat .unit-test.log; echo "unit tests failed (output above, and in .unit-test.log)"; exit 1; \
	fi

# Boot tests run in parallel (t.Parallel), two at a time on two cores.
integration-test:
	$(GO) test -v -timeout 40m ./integration/

lint:
	@files=$$(gofmt -l .); if [ -n "$$files" ]; then echo "gofmt -l: not formatted:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

demo:
	scripts/demo.sh

# The benchmark suite: liveiso against the classic pipeline on synthetic
# trees of 10k, 50k and 200k files and a debootstrap minbase tree (cached in
# /var/tmp/liveiso-bench), side by side in one run, and the edit-boot loop of
# liveiso run against the classic loop; writes BENCHMARKS.md. About 30
# minutes on two cores; `go run ./bench -quick` for a smoke run,
# `go run ./bench -loop-only` for the loop alone.
bench: setup
	$(GO) run ./bench -out BENCHMARKS.md
	$(GO) test -run '^$$' -bench . ./cache/ ./isolayout/ ./rootfs/

clean:
	rm -rf bin/ man/
