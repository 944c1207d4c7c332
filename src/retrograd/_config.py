"""Backend choice and thread count (API.md, "Backend and threads").

The backend is a process-wide default (``set_backend``, ``RETROGRAD_BACKEND``)
that ``use_backend`` overrides for the current thread/context only, so two
Python threads can train on different backends.  The thread count is passed to
every native kernel call; it does not touch OpenMP's global state, so a count
changed between two kernel calls applies to the next call, and Python threads
may run kernels at the same time (each call starts its own OpenMP team).

OpenMP after fork: GNU OpenMP (libgomp, the runtime GCC links) keeps a pool of
worker threads after the first parallel region, and a child created by fork()
inherits none of those threads but still believes the pool is there: its first
multi-threaded region waits forever for them.  So in a process forked from one
that had imported retrograd's native kernels (multiprocessing's "fork" start
method, os.fork), the kernels run on one thread: ``get_num_threads()`` is 1 there
and ``set_num_threads(n > 1)`` warns and changes nothing.  The parent keeps its
threads.  For multi-threaded workers use the "spawn" or "forkserver" start
methods, which start fresh processes.
"""
import contextlib
import contextvars
import os
import warnings

BACKENDS = ("native", "numpy")

try:
    from ._native import _runtime as _native_runtime
except ImportError:  # the extension was not built (or failed to import)
    _native_runtime = None

_default_backend = None
_override = contextvars.ContextVar("retrograd_backend", default=None)
_num_threads = None
# True in a process forked after the native kernels were loaded (module docstring).
_forked = False


def _after_fork_in_child():
    global _forked
    _forked = True


if _native_runtime is not None and hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def native_available():
    """True when the compiled native kernels could be imported."""
    return _native_runtime is not None


def _check_backend(name):
    if name not in BACKENDS:
        raise ValueError(f"set_backend: expected one of {BACKENDS}, got {name!r}")
    if name == "native" and not native_available():
        raise RuntimeError("set_backend: the native backend was not built; "
                           "reinstall retrograd with a C compiler, or use 'numpy'")
    return name


def _initial_backend():
    name = os.environ.get("RETROGRAD_BACKEND", "").strip().lower()
    if name:
        return _check_backend(name)
    if native_available():
        return "native"
    warnings.warn("retrograd: native kernels are not available; using the NumPy backend",
                  RuntimeWarning, stacklevel=3)
    return "numpy"


def get_backend():
    """The backend in force here: "native" or "numpy"."""
    global _default_backend
    override = _override.get()
    if override is not None:
        return override
    if _default_backend is None:
        _default_backend = _initial_backend()
    return _default_backend


def set_backend(name):
    """Set the process-wide default backend ("native" or "numpy")."""
    global _default_backend
    _default_backend = _check_backend(name)


@contextlib.contextmanager
def use_backend(name):
    """Run a block with another backend: ``with retrograd.use_backend("numpy"): ...``."""
    token = _override.set(_check_backend(name))
    try:
        yield
    finally:
        _override.reset(token)


def _check_threads(n, source):
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{source}: expected a positive integer thread count, got {n!r}")
    return n


def get_num_threads():
    """Threads the native kernels use: set_num_threads, else RETROGRAD_NUM_THREADS,
    else OpenMP's default (which honours OMP_NUM_THREADS); 1 in a process forked
    after the native kernels were loaded (GNU OpenMP cannot start threads there:
    see the module docstring)."""
    global _num_threads
    if _forked:
        return 1
    if _num_threads is None:
        env = os.environ.get("RETROGRAD_NUM_THREADS", "").strip()
        if env:
            try:
                value = int(env)
            except ValueError:
                value = env
            _num_threads = _check_threads(value, "RETROGRAD_NUM_THREADS")
        elif native_available():
            _num_threads = _native_runtime.default_num_threads()
        else:
            _num_threads = 1
    return _num_threads


def set_num_threads(n):
    """Set the number of threads of the native kernels (n >= 1), process-wide; the
    next kernel call uses it, so it may change between training steps.

    In a process forked after the native kernels were loaded the kernels stay on
    one thread, and n > 1 gives a RuntimeWarning: after fork, GNU OpenMP would
    wait forever for the parent's worker threads (module docstring).
    """
    global _num_threads
    n = _check_threads(n, "set_num_threads")
    if _forked and n > 1:
        warnings.warn(f"set_num_threads: expected 1 in a process forked after retrograd's native "
                      f"kernels were loaded (OpenMP cannot start threads after fork), got {n}; "
                      "the kernels stay on 1 thread: use the 'spawn' or 'forkserver' start "
                      "method for multi-threaded workers", RuntimeWarning, stacklevel=2)
    _num_threads = n


def config():
    """The facts show_config prints, as a dict."""
    native = native_available()
    return {
        "version": _version(),
        "backend": get_backend(),
        "native_available": native,
        "compiler": _native_runtime.compiler() if native else None,
        "openmp": _native_runtime.openmp_enabled() if native else False,
        "num_threads": get_num_threads(),
        "simd": _native_runtime.simd_level() if native else None,
        "numpy": __import__("numpy").__version__,
    }


def show_config():
    """Print compiler, OpenMP on/off, thread count, SIMD level and backend."""
    for key, value in config().items():
        print(f"{key:>17}: {value}")


def _version():
    from . import __version__
    return __version__
