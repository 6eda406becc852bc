#!/usr/bin/env bash
# Builds the libFuzzer targets with clang, the library with AddressSanitizer
# and UndefinedBehaviorSanitizer, and fuzzes fuzz_map for SECONDS (default
# 60).  Exits 0 if nothing was found, nonzero on a crash, a leak, a hang or
# a build failure; skips (exit 0, with a notice) without clang or libFuzzer.
#
#   bash fuzz/run.sh [SECONDS]
#
# Environment: CC (default clang), BUILD (default build-fuzz), JOBS (2).
# New inputs go to $BUILD/fuzz/corpus (fuzz/corpus/ holds the seeds and is
# only read); a crashing input is saved as $BUILD/fuzz/crash-* and named
# in the output: replay it with `$BUILD/fuzz/fuzz_map FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
case $seconds in '' | *[!0-9]*) echo "usage: fuzz/run.sh [SECONDS]" >&2; exit 2 ;; esac
cc=${CC:-clang}
build=${BUILD:-build-fuzz}
jobs=${JOBS:-2}

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "fuzz: skipped: $cc is not installed (libFuzzer needs clang)"
    exit 0
fi
# Same probe as fuzz/CMakeLists.txt, before spending time on a build.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
    >"$probe/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe/probe.c" -o "$probe/probe" >/dev/null 2>&1; then
    echo "fuzz: skipped: $cc cannot build a libFuzzer target with ASan+UBSan"
    exit 0
fi

mkdir -p "$build"
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DSMEM_SANITIZE=address,undefined \
    -DSMEM_BUILD_BENCH=OFF -DSMEM_BUILD_TESTS=ON >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log"
    exit 1
}
cmake --build "$build" -j"$jobs" --target fuzz_map
bin=$build/fuzz/fuzz_map
if [ ! -x "$bin" ]; then
    echo "fuzz: fuzz_map was not built (see $build/configure.log)" >&2
    exit 1
fi

work=$build/fuzz/corpus
mkdir -p "$work"
# -timeout: a single input running 10 s is a hang.  -rss_limit_mb: every
# input creates and removes a small region; memory must not grow.
# detect_leaks: ASan's leak check at exit (and on -runs), so handles that a
# failed call forgets to free show up.
status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" -max_total_time="$seconds" -timeout=10 -max_len=8192 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz/" "$work" fuzz/corpus &
pid=$!
wait $pid || status=$?
# The region of a fuzzer that crashed is left behind: remove it.
rm -f "/dev/shm/smem.fuzz-map-$pid" "/dev/shm/smem.fuzz-map-$pid".* 2>/dev/null || true
if [ "$status" -ne 0 ]; then
    echo "fuzz: fuzz_map failed (status $status); crashing inputs:" >&2
    ls "$build"/fuzz/crash-* "$build"/fuzz/timeout-* "$build"/fuzz/leak-* 2>/dev/null >&2 || true
fi
exit "$status"
