# oshin — the two commands are `make run` and `make test`; each installs what is missing first.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD_DIR := build/release
SERVER := $(BUILD_DIR)/server/app/oshin-server
CXX_SOURCES = $(shell git ls-files '*.cpp' '*.hpp' '*.h' '*.cc' 2>/dev/null)

.PHONY: all deps configure build run test bench fmt fmt-check asan tsan clang fuzz ci clean

all: build

deps:
	@bash deploy/install-deps.sh

configure: deps
	@cmake --preset release >/dev/null

build: configure
	@cmake --build --preset release -j $(JOBS)

## Builds and starts the server with embedded SQLite and demo data on 127.0.0.1:8080.
run: build
	@mkdir -p var
	@$(SERVER) --demo --data-dir var $(ARGS)

## Builds and runs the whole suite (unit + integration), ending in ctest's summary.
test: build
	@ctest --preset release -j $(JOBS) --timeout 600

## Benchmarks (release build): decision latency and whatever tests/bench defines.
bench: build
	@cmake --build --preset release --target bench

fmt:
	@clang-format -i $(CXX_SOURCES)

fmt-check:
	@clang-format --dry-run --Werror $(CXX_SOURCES)

## Sanitizer and second-compiler builds (clang 14). The sanitizer runs cover the unit and
## integration suites (the browser tests drive the same server through chromium and stay in
## `make test`). TSan runs with address-space randomisation off (setarch -R): clang 14's TSan
## cannot map its shadow memory under the high mmap entropy of newer kernels.
SAN_CTEST := -j $(JOBS) --timeout 900 -LE browser
asan: deps
	@cmake --preset asan-ubsan >/dev/null && cmake --build --preset asan-ubsan -j $(JOBS)
	@ctest --preset asan-ubsan $(SAN_CTEST)

tsan: deps
	@cmake --preset tsan >/dev/null && cmake --build --preset tsan -j $(JOBS)
	@setarch $$(uname -m) -R ctest --preset tsan $(SAN_CTEST)

clang: deps
	@cmake --preset clang >/dev/null && cmake --build --preset clang -j $(JOBS)

## libFuzzer targets, built in the ASan + UBSan tree (build/asan-ubsan): each runs FUZZ_SECONDS on
## a copy of its seed corpus (tests/fuzz/corpus/<target>/); fails on a crash.
## Short mode (what CI runs): make fuzz FUZZ_SECONDS=10.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := fuzz_http_request fuzz_codec fuzz_stream_query fuzz_config
fuzz: deps
	@cmake --preset asan-ubsan >/dev/null && cmake --build --preset asan-ubsan -j $(JOBS) --target $(FUZZ_TARGETS)
	@tests/fuzz/run-fuzzers.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

## What CI runs (.ci/run): the sanitizer suites, the fuzzers' short mode, then the whole suite.
ci:
	@.ci/run

clean:
	@rm -rf build
