# The two commands a newcomer needs, and a few more for developers.
#
#   make dev    a complete local consortium (4 validators) with the demo records loaded
#   make test   everything CI checks: formatting, lints, and every test in release mode
#
# Everything builds in one profile (release), so RocksDB and the dependency tree compile once.
# Set CARGO_TARGET_DIR to share a build directory between clones.

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo
SUYUAN := $(or $(CARGO_TARGET_DIR),target)/release/suyuan

.PHONY: dev test deps build fmt lint unit install

deps:
	@scripts/ensure-deps.sh

# All targets, so that `make test` afterwards reuses every artifact (the same feature set).
build: deps
	$(CARGO) build --release --workspace --all-targets

# Extra flags go through DEV_ARGS, e.g. `make dev DEV_ARGS=--fresh`.
dev: build
	"$(SUYUAN)" dev $(DEV_ARGS)

fmt:
	$(CARGO) fmt --all -- --check

lint: deps
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

# Builds first: `cargo test` alone builds no binary of a package without integration tests, and
# the multi-process tests run `suyuan-byzantine` (tools/byzantine) beside `suyuan`.
unit: build
	@scripts/ensure-test-deps.sh
	$(CARGO) test --release --workspace

test: fmt lint unit

# The binary stripped of debug information (RocksDB's C++ line tables make it large), with the
# debug information kept beside it and linked, so that debuggers and backtraces find it.
PREFIX ?= /usr/local
install: deps
	$(CARGO) build --release --workspace --all-targets
	install -d "$(DESTDIR)$(PREFIX)/bin"
	objcopy --only-keep-debug "$(SUYUAN)" "$(DESTDIR)$(PREFIX)/bin/suyuan.debug"
	objcopy --strip-debug --add-gnu-debuglink="$(DESTDIR)$(PREFIX)/bin/suyuan.debug" \
		"$(SUYUAN)" "$(DESTDIR)$(PREFIX)/bin/suyuan"
	chmod 0755 "$(DESTDIR)$(PREFIX)/bin/suyuan"
	@ls -l "$(DESTDIR)$(PREFIX)/bin/suyuan" "$(DESTDIR)$(PREFIX)/bin/suyuan.debug"
