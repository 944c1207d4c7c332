"""Shared fixtures: the backends, the two float dtypes with their comparison
tolerances, thread-count restoration, and a central-difference helper."""
import numpy as np
import pytest

import retrograd

BACKENDS = ["numpy"] + (["native"] if retrograd.native_available() else [])
# Elements per thread below which a native kernel stays on fewer threads; thread-count tests
# size their inputs from it so that they really run on several threads.
if retrograd.native_available():
    from retrograd._native._runtime import grains as _grains
    MULTI_THREAD_ELEMENTS = 3 * _grains()["cheap"]
else:
    MULTI_THREAD_ELEMENTS = 1
DTYPES = [np.float32, np.float64]
# Agreement expected between the backends after one layer (API.md, "Conventions").
TOLERANCES = {np.dtype(np.float32): {"rtol": 1e-4, "atol": 1e-5},
              np.dtype(np.float64): {"rtol": 1e-7, "atol": 1e-12}}


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Each available backend in turn, in force for the whole test."""
    with retrograd.use_backend(request.param):
        yield request.param


@pytest.fixture(params=DTYPES, ids=["float32", "float64"])
def dtype(request):
    return request.param


@pytest.fixture
def tol(dtype):
    """assert_allclose keyword arguments for comparing the backends in ``dtype``."""
    return TOLERANCES[np.dtype(dtype)]


@pytest.fixture
def restore_num_threads():
    """Lets a test change retrograd.set_num_threads; the old count comes back after."""
    before = retrograd.get_num_threads()
    yield
    retrograd.set_num_threads(before)


def central_difference(f, x, eps=1e-6):
    """d f / d x by central differences, (f(x + eps e_i) - f(x - eps e_i)) / (2 eps) for
    each element i.  ``f`` maps the array ``x`` (float64, perturbed in place and
    restored) to a scalar; it costs two calls per element, so keep x small."""
    grad = np.zeros_like(x, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        plus = f(x)
        x[idx] = old - eps
        minus = f(x)
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


@pytest.fixture
def numeric_grad():
    """The central-difference helper, ``numeric_grad(f, x, eps=1e-6)``."""
    return central_difference
