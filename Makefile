# The two commands a newcomer needs, and a few more for developers.
#
#   make dev    run the demo (from issue 5 on: a complete local consortium with demo data)
#   make test   everything CI checks: formatting, lints, and every test in release mode
#
# Everything builds in one profile (release), so RocksDB and the dependency tree compile once.
# Set CARGO_TARGET_DIR to share a build directory between clones.

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo
SUYUAN := $(or $(CARGO_TARGET_DIR),target)/release/suyuan

.PHONY: dev test deps build fmt lint unit

deps:
	@scripts/ensure-deps.sh

build: deps
	$(CARGO) build --release --workspace --bins

dev: build
	@scripts/dev.sh "$(SUYUAN)"

fmt:
	$(CARGO) fmt --all -- --check

lint: deps
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

unit: deps
	$(CARGO) test --release --workspace

test: fmt lint unit
