#!/usr/bin/env bash
# Builds retrograd with AddressSanitizer + UndefinedBehaviorSanitizer in a fresh virtualenv
# and runs the test suite under it.  Any report makes the run fail.
#   .ci/sanitize.sh [pytest args...]   (default: the whole suite)
#   .ci/sanitize.sh --build-only       (only the build; .ci/leakcheck.sh uses it)
# RETROGRAD_SANITIZE_DIR=DIR keeps the virtualenv and the build tree in DIR, so that a
# second run rebuilds only what changed; without it both live in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${RETROGRAD_SANITIZE_DIR:-}" ]; then
  work=$RETROGRAD_SANITIZE_DIR
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
[ -x "$work/venv/bin/python" ] || python3 -m venv "$work/venv"
# The build requirements of pyproject.toml live in the virtualenv, not in a throw-away
# isolated one, so that the build tree stays valid from one run to the next.
"$work/venv/bin/pip" install -q "scikit-build-core>=0.10" "cython>=3.0" "cython-cmake>=0.2" \
    cmake ninja
# Not stripped: a report names the function, file and line of each of our frames.
"$work/venv/bin/pip" install -q --no-build-isolation ".[test]" \
    -C cmake.define.RETROGRAD_SANITIZE=ON -C install.strip=false -C build-dir="$work/build"
if [ "${1:-}" = "--build-only" ]; then
  exit 0
fi
# Python itself is not instrumented, so the sanitizer runtimes are preloaded.
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
# -s: a sanitizer report goes to stderr as the process aborts, so pytest must not capture it.
# Leaks are .ci/leakcheck.sh's job: here Python's own allocations at exit would drown them.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
LD_PRELOAD="$asan $ubsan" "$work/venv/bin/python" -m pytest -q -s -p no:cacheprovider "$@"
