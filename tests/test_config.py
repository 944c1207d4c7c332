"""Backend and thread machinery (API.md, "Backend and threads")."""
import os
import subprocess
import sys
import threading

import pytest

import retrograd
from retrograd.backend import numpy_ops, native_ops, ops

needs_native = pytest.mark.skipif(not retrograd.native_available(), reason="native not built")


def _run(code, **env):
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full_env, timeout=60)


def test_native_is_built_in_this_install():
    # The test suite runs on an install that built the extension; a silent fallback would
    # make every native test vacuous.
    assert retrograd.native_available()


@needs_native
def test_both_backend_modules_expose_the_same_kernels():
    public = lambda m: {n for n in dir(m) if not n.startswith("_") and callable(getattr(m, n))
                        and getattr(getattr(m, n), "__module__", "").startswith("retrograd.backend")}
    assert public(numpy_ops) == public(native_ops)


def test_set_get_and_use_backend():
    before = retrograd.get_backend()
    try:
        retrograd.set_backend("numpy")
        assert retrograd.get_backend() == "numpy"
        with retrograd.use_backend("native" if retrograd.native_available() else "numpy") as _:
            assert retrograd.get_backend() in ("native", "numpy")
        assert retrograd.get_backend() == "numpy"
    finally:
        retrograd.set_backend(before)


def test_use_backend_restores_after_an_exception():
    before = retrograd.get_backend()
    with pytest.raises(KeyError):
        with retrograd.use_backend("numpy"):
            raise KeyError("boom")
    assert retrograd.get_backend() == before


def test_use_backend_is_local_to_its_thread():
    seen = {}
    release = threading.Event()
    entered = threading.Event()

    def worker():
        with retrograd.use_backend("numpy"):
            entered.set()
            release.wait(5)
            seen["worker"] = retrograd.get_backend()

    t = threading.Thread(target=worker)
    t.start()
    entered.wait(5)
    seen["main"] = retrograd.get_backend()
    release.set()
    t.join()
    assert seen["worker"] == "numpy"
    assert seen["main"] == retrograd.get_backend()


@needs_native
def test_ops_follows_the_backend():
    with retrograd.use_backend("numpy"):
        assert ops.relu_forward is numpy_ops.relu_forward
    with retrograd.use_backend("native"):
        assert ops.relu_forward is native_ops.relu_forward


@pytest.mark.parametrize("bad", ["torch", "", "NUMPY ", None, 3])
def test_set_backend_rejects_unknown_names(bad):
    with pytest.raises(ValueError, match="set_backend: expected one of"):
        retrograd.set_backend(bad)


def test_threads_round_trip():
    before = retrograd.get_num_threads()
    try:
        retrograd.set_num_threads(1)
        assert retrograd.get_num_threads() == 1
        retrograd.set_num_threads(3)
        assert retrograd.get_num_threads() == 3
    finally:
        retrograd.set_num_threads(before)


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True, None])
def test_set_num_threads_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="set_num_threads: expected a positive integer"):
        retrograd.set_num_threads(bad)


def test_environment_variables_choose_backend_and_threads():
    out = _run("import retrograd; print(retrograd.get_backend(), retrograd.get_num_threads())",
               RETROGRAD_BACKEND="numpy", RETROGRAD_NUM_THREADS="3")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["numpy", "3"]


def test_bad_environment_is_reported_clearly():
    out = _run("import retrograd; retrograd.get_num_threads()", RETROGRAD_NUM_THREADS="many")
    assert out.returncode != 0
    assert "RETROGRAD_NUM_THREADS: expected a positive integer thread count, got 'many'" in out.stderr
    out = _run("import retrograd; retrograd.get_backend()", RETROGRAD_BACKEND="cuda")
    assert "set_backend: expected one of" in out.stderr


@needs_native
def test_default_threads_follow_omp_num_threads():
    env = {k: v for k, v in os.environ.items() if k != "RETROGRAD_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", "import retrograd; print(retrograd.get_num_threads())"],
                         capture_output=True, text=True, env={**env, "OMP_NUM_THREADS": "5"}, timeout=60)
    assert out.stdout.strip() == "5", out.stderr


def test_show_config_reports_the_build(capsys):
    retrograd.show_config()
    text = capsys.readouterr().out
    for key in ("backend", "compiler", "openmp", "num_threads", "simd"):
        assert key in text
    cfg = retrograd._config.config()
    if retrograd.native_available():
        assert cfg["openmp"] in (True, False)
        assert cfg["simd"] in ("avx512", "avx2+fma", "baseline")
