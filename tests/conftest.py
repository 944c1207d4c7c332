"""Shared fixtures: the backends, the two float dtypes with their comparison
tolerances, thread-count restoration, and a central-difference helper."""
import contextlib

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

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


@contextlib.contextmanager
def num_threads(n):
    """retrograd.set_num_threads(n) for the block, the old count restored after (for
    hypothesis tests, which cannot take function-scoped fixtures)."""
    before = retrograd.get_num_threads()
    retrograd.set_num_threads(n)
    try:
        yield
    finally:
        retrograd.set_num_threads(before)


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


# Hypothesis profiles.  "fast" (the default, run by CI) keeps the property tests to a few
# dozen examples each; "--slow" runs thousands of examples per kernel and the soak tests.
# Tests that pin max_examples in their own @settings keep it; the fuzz tests follow the profile.
settings.register_profile("fast", max_examples=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("slow", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("fast")


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true",
                     help="thousands of hypothesis examples per kernel, and the soak tests")


def pytest_configure(config):
    config.addinivalue_line("markers", "soak: long runs (memory growth); only with --slow")
    if config.getoption("--slow"):
        settings.load_profile("slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip_soak = pytest.mark.skip(reason="soak test: run with --slow")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip_soak)
