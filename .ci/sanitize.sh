#!/usr/bin/env bash
# Builds retrograd with AddressSanitizer + UndefinedBehaviorSanitizer in a fresh virtualenv
# and runs the test suite under it.  Any report makes the run fail.
#   .ci/sanitize.sh [pytest args...]      (default: the whole suite, about 4 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q ".[test]" -C cmake.define.RETROGRAD_SANITIZE=ON \
    -C build-dir="$work/build"
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
# -s: a sanitizer report goes to stderr as the process aborts, so pytest must not capture it.
# Python itself is not instrumented: its allocator's "leaks" at exit are not ours.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
LD_PRELOAD="$asan $ubsan" "$work/venv/bin/python" -m pytest -q -s -p no:cacheprovider "$@"
