#!/usr/bin/env bash
# Runs each libFuzzer target (built in build/asan-ubsan, `make fuzz`) for FUZZ_SECONDS on a copy
# of its seed corpus (the repo's corpus is never written). Fails on the first crash, leak, timeout or OOM; the reproducer is left in
# build/fuzz/artifacts/<target>/ and the log in build/fuzz/logs/<target>.log.
# Usage: tests/fuzz/run-fuzzers.sh SECONDS TARGET...
set -euo pipefail
seconds="$1"
shift
src=tests/fuzz
build=build/fuzz
bin=build/asan-ubsan/tests/fuzz
status=0
for target in "$@"; do
  work="$build/corpus/$target"
  artifacts="$build/artifacts/$target"
  log="$build/logs/$target.log"
  mkdir -p "$work" "$artifacts" "$build/logs"
  cp -n "$src/corpus/$target"/* "$work"/
  dict=()
  if [[ -f "$src/$target.dict" ]]; then
    dict=("-dict=$src/$target.dict")
  fi
  echo "== $target: ${seconds}s on $work"
  if "$bin/$target" "$work" "${dict[@]}" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$log" | sed 's/^/   /'
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n1 | sed 's/^/   /' || true
  else
    echo "!! $target failed; reproducer in $artifacts/, log $log:"
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 20
    status=1
  fi
done
exit "$status"
