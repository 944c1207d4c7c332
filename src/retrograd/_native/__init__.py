"""Compiled kernels (Cython wrappers over the C library in ``csrc/``).

Each module here validates sizes, releases the GIL and calls one C kernel
family.  Nothing in this package is public: use ``retrograd.backend``.
"""
import os

# The native backend interleaves OpenMP regions (these kernels) with NumPy's BLAS calls
# (Dense's matrix products), which run on OpenBLAS's own threads.  libgomp's default is to
# spin idle threads after each region; on a machine with as many threads as cores the
# spinning threads then hold the cores that OpenBLAS needs next: a LeNet-5 training step at
# batch 64 on 2 threads ran 11x slower with OMP_WAIT_POLICY=ACTIVE than with PASSIVE
# (benchmarks/RESULTS.md, "LeNet-5").  Sleeping idle threads cost a few microseconds per
# region instead.  libgomp reads the variable when it loads (with the first extension
# module), so it is set here; a value set by the user wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
