"""Compiled kernels (Cython wrappers over the C library in ``csrc/``).

Each module here validates sizes, releases the GIL and calls one C kernel
family.  Nothing in this package is public: use ``retrograd.backend``.
"""
import os

# Idle OpenMP threads sleep between kernels instead of spinning.  libgomp's default spins
# them for a while after each parallel region.  On an idle machine that makes small kernels
# start sooner: waking a sleeping thread costs ~45 us per parallel region on the 2-core VM
# of benchmarks/RESULTS.md, and a LeNet-5 step at batch 64 on 2 threads runs ~1.4x faster
# with spinning threads (median ~32K against ~22K images/s).  But wherever another program
# or thread pool needs the cores, the spinning threads hold them: with one core busy the
# same step ran at 5-9K images/s spinning against 22K with PASSIVE, and before Dense had its
# own kernel (it used NumPy's OpenBLAS threads) 11x slower (RESULTS.md, "LeNet-5").  PASSIVE is the safe default; libgomp reads the
# variable when it loads (with the first extension module), so it is set here, and a value
# set by the user wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
