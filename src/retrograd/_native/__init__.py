"""Compiled kernels (Cython wrappers over the C library in ``csrc/``).

Each module here validates sizes, releases the GIL and calls one C kernel
family.  Nothing in this package is public: use ``retrograd.backend``.
"""
