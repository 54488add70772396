#!/usr/bin/env bash
# Quick start, command 2 (and what CI runs): install the dependencies, then
#   1. build with -Werror into build-ci and run every test (unit + integration),
#   2. build with AddressSanitizer + UBSan into build-asan and run every test again,
#   3. check that every .c/.h/.cpp file is clang-formatted.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-2}

step() { printf '\n=== %s\n' "$*"; }
# run_ctest DIR: the whole suite, its output kept in DIR/ctest.log
run_ctest() {
    (cd "$1" && ctest --output-on-failure -j"$JOBS" 2>&1 | tee ctest.log; exit "${PIPESTATUS[0]}")
}

step "dependencies"
bash deploy/install-deps.sh

step "build with -Werror (build-ci)"
cmake -S . -B build-ci -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMF_WERROR=ON >/dev/null
cmake --build build-ci -j"$JOBS"
step "tests (build-ci)"
run_ctest build-ci

step "build with -fsanitize=address,undefined (build-asan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMF_WERROR=ON \
    -DMF_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j"$JOBS"
step "tests under sanitizers (build-asan)"
# abort_on_error: a sanitizer report fails the process, so a test sees it as a crash.
# Leaks inside glib/libvips' one-time caches are suppressed (deploy/lsan.supp); ours are not.
ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
    LSAN_OPTIONS=suppressions=$ROOT/deploy/lsan.supp:print_suppressions=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_ctest build-asan

step "clang-format"
find . \( -path './build*' -o -path ./.git \) -prune -o \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) -print0 |
    xargs -0 clang-format --dry-run -Werror
echo "all files formatted"

step "summary"
for d in build-ci build-asan; do
    printf '%s: %s\n' "$d" "$(grep -E 'tests passed|tests failed' "$d/ctest.log" | tail -n 1)"
done
