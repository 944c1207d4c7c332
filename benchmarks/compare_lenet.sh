#!/usr/bin/env bash
# Before/after benchmark of the LeNet-5 training step (issue 10): the native step's
# images/s from each checkout's own benchmarks/bench_lenet.py, run with that side's
# interpreter, alternating base / new RUNS times (three by default), batches 64 and 256,
# 1 and 2 threads.  Prints, per configuration, each side's figures, their medians and the
# ratio new / base (above 1: the new code is faster).
#
#   benchmarks/compare_lenet.sh BASE_PYTHON BASE_CHECKOUT NEW_PYTHON NEW_CHECKOUT [RUNS]
#
# Each interpreter must import the retrograd built from its checkout (a normal install of
# the base commit; an editable or normal install of the new one): the header shows where
# each side's retrograd comes from and each checkout's commit.  A bench_lenet.py with
# --contenders times the native step alone; an older one without it also times the NumPy
# reference (and PyTorch where importable), and only its native column is read.
# Extra bench_lenet.py options go in BENCH_ARGS, e.g. BENCH_ARGS="--repeats 30".
# Run it on a quiet machine: nothing else building or benchmarking.
set -euo pipefail

if [ $# -lt 4 ] || [ $# -gt 5 ]; then
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
base_py=$1 base_dir=$2 new_py=$3 new_dir=$4 runs=${5:-3}
batches=64,256
threads=1,2

for side in base new; do
    py_var=${side}_py dir_var=${side}_dir
    if ! "${!py_var}" -c "import retrograd, sys; sys.exit(not retrograd.native_available())"; then
        echo "compare_lenet.sh: ${!py_var} has no retrograd with the native backend" >&2
        exit 1
    fi
    if [ ! -f "${!dir_var}/benchmarks/bench_lenet.py" ]; then
        echo "compare_lenet.sh: no benchmarks/bench_lenet.py in ${!dir_var}" >&2
        exit 1
    fi
done

describe() {  # python checkout -> one line: commit (dirty?), retrograd's location
    local commit
    commit=$(git -C "$2" rev-parse --short HEAD 2>/dev/null || echo "not a git checkout")
    if [ -n "$(git -C "$2" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
        commit="$commit + uncommitted changes"
    fi
    echo "$2 ($commit), $1 importing $("$1" -c 'import os, retrograd
print(os.path.dirname(retrograd.__file__))')"
}

results=$(mktemp)
trap 'rm -f "$results"' EXIT

run_side() {  # side python checkout run -> appends "side run batch threads img/s" lines
    local side=$1 py=$2 dir=$3 run=$4 args=(--batches "$batches" --threads "$threads")
    if grep -q -- "--contenders" "$dir/benchmarks/bench_lenet.py"; then
        args+=(--contenders native)
    fi
    # shellcheck disable=SC2086  # BENCH_ARGS is a list of words
    "$py" "$dir/benchmarks/bench_lenet.py" "${args[@]}" ${BENCH_ARGS:-} |
        awk -v side="$side" -v run="$run" '
            $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ {
                if ($3 !~ /^[0-9.]+$/) { print "no native figure in: " $0 > "/dev/stderr"; exit 1 }
                print side, run, $1, $2, $3
            }' >>"$results"
}

echo "base: $(describe "$base_py" "$base_dir")"
echo "new:  $(describe "$new_py" "$new_dir")"
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
echo "host: $(uname -n), $(nproc) cores, load average $load before the runs;" \
     "$runs runs per side, alternating base/new; bench_lenet.py --batches $batches" \
     "--threads $threads ${BENCH_ARGS:+$BENCH_ARGS }(native step only)"
for ((run = 1; run <= runs; run++)); do
    echo "run $run/$runs: base" >&2
    run_side base "$base_py" "$base_dir" "$run"
    echo "run $run/$runs: new" >&2
    run_side new "$new_py" "$new_dir" "$run"
done

# One line per (batch, threads): the runs' figures in run order, their medians, new / base.
"$new_py" - "$results" <<'EOF'
import statistics
import sys

figures = {}
for line in open(sys.argv[1]):
    side, run, batch, threads, rate = line.split()
    figures.setdefault((int(batch), int(threads)), {"base": [], "new": []})[side].append(
        float(rate))
runs = max(len(v["base"]) for v in figures.values())
width = max(8 * runs - 1, 15)
print(f"{'':9}  {'base img/s':^{width + 8}}  {'new img/s':^{width + 8}}")
print(f"{'batch':>5} {'thr':>3}  {'runs':>{width}} {'median':>7}  {'runs':>{width}} "
      f"{'median':>7}  {'new/base':>8}")
for (batch, threads), sides in sorted(figures.items()):
    base, new = (statistics.median(sides[s]) for s in ("base", "new"))
    cells = {s: " ".join(f"{v:7.0f}" for v in sides[s]) for s in sides}
    print(f"{batch:>5} {threads:>3}  {cells['base']:>{width}} {base:7.0f}  "
          f"{cells['new']:>{width}} {new:7.0f}  {new / base:8.3f}")
EOF
