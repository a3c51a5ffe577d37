# oshin — the two commands are `make run` and `make test`; each installs what is missing first.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD_DIR := build/release
SERVER := $(BUILD_DIR)/server/app/oshin-server
CXX_SOURCES = $(shell git ls-files '*.cpp' '*.hpp' '*.h' '*.cc' 2>/dev/null)

.PHONY: all deps configure build run test soak bench fmt fmt-check asan tsan clang fuzz ci clean

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

## Crash soak (issue 7): kill -9 at random moments under concurrent idempotent writes for
## SOAK_SECONDS, then checks every acknowledged write is present once and the file is sound.
## The short version (20 s) runs in `make test`; repeat a run with SOAK_SEED=<printed seed>.
SOAK_SECONDS ?= 600
SOAK_SEED ?=
SOAK_CLIENTS ?= 4
soak: configure
	@cmake --build --preset release -j $(JOBS) --target oshin_fault_tests
	@OSHIN_SOAK_SECONDS=$(SOAK_SECONDS) OSHIN_SOAK_SEED=$(SOAK_SEED) OSHIN_SOAK_CLIENTS=$(SOAK_CLIENTS) \
	  $(BUILD_DIR)/tests/fault/oshin_fault_tests --gtest_filter='Soak.*'

## Benchmarks (release build): decision latency and whatever tests/bench defines.
bench: build
	@cmake --build --preset release --target bench

fmt:
	@clang-format -i $(CXX_SOURCES)

fmt-check:
	@clang-format --dry-run --Werror $(CXX_SOURCES)

## Sanitizer and second-compiler builds (clang 14). The sanitizer runs cover the unit and
## integration suites; the browser tests (the same server driven through chromium) and the
## process-level fault suites (an LD_PRELOAD shim, tmpfs, kill -9 soak) stay in `make test`. TSan runs with address-space randomisation off (setarch -R): clang 14's TSan
## cannot map its shadow memory under the high mmap entropy of newer kernels.
SAN_CTEST := -j $(JOBS) --timeout 900 -LE 'browser|fault'
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

## What CI runs (.ci/run): the TSan suite, the ASan + UBSan suite, the fuzzers' short mode,
## then the whole suite.
ci:
	@.ci/run

clean:
	@rm -rf build
