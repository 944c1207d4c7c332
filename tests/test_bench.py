"""retrograd.bench: the timing harness and table behind ``retrograd bench``."""
import numpy as np
import pytest

import retrograd
from retrograd import bench


def test_median_time_warms_up_then_takes_the_median(monkeypatch):
    calls = []
    # perf_counter pairs (start, end) for three timed calls lasting 5, 1 and 3 s.
    clock = iter([0.0, 5.0, 10.0, 11.0, 20.0, 23.0])
    monkeypatch.setattr(bench.time, "perf_counter", lambda: next(clock))
    assert bench.median_time(lambda: calls.append(1), repeats=3, warmup=2) == 3.0
    assert len(calls) == 5


def test_format_table_aligns_columns_and_shows_missing_values_as_dashes():
    rows = [{"case": "ReLU fwd+bwd", "threads": 2, "numpy ms": 1.5, "native ms": 0.25,
             "torch ms": None, "numpy/native": 6.0, "torch/native": None},
            {"case": "Adam step", "threads": 1, "numpy ms": 123.4567, "native ms": None,
             "torch ms": None, "numpy/native": None, "torch/native": None}]
    lines = bench.format_table(rows).splitlines()
    assert len(lines) == 4 and len({len(line) for line in lines}) == 1
    assert lines[0].split() == ["case", "threads", "numpy", "ms", "native", "ms", "torch", "ms",
                                "numpy/native", "torch/native"]
    assert lines[2].split() == ["ReLU", "fwd+bwd", "2", "1.500", "0.250", "-", "6.000", "-"]
    assert lines[3].split() == ["Adam", "step", "1", "123.5", "-", "-", "-", "-"]


def test_quick_run_times_each_case_and_thread_count_and_restores_the_threads():
    threads = retrograd.get_num_threads()
    rows = bench.run(threads=[1, 2], quick=True, repeats=1)
    assert retrograd.get_num_threads() == threads
    assert [(r["case"], r["threads"]) for r in rows] == [(c, n) for n in (1, 2)
                                                         for c in bench.CASES]
    native = retrograd.native_available()
    for row in rows:
        assert row["numpy ms"] > 0
        assert (row["native ms"] is not None) == native
        if native:
            assert row["numpy/native"] == pytest.approx(row["numpy ms"] / row["native ms"])


def test_torch_column_is_filled_when_torch_is_importable():
    pytest.importorskip("torch")
    rows = bench.run(threads=[1], quick=True, repeats=1, cases=["MaxPool 2x2 fwd+bwd"])
    assert rows[0]["torch ms"] > 0


def test_the_lenet_step_trains_the_same_network_on_both_backends():
    if not retrograd.native_available():
        pytest.skip("native backend not built")
    losses = []
    for backend in ("numpy", "native"):
        with retrograd.use_backend(backend):
            step = bench.CASES["LeNet-5 train step"](8, np.random.default_rng(0))
            losses.append([step() for _ in range(3)])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)
    assert losses[0][2] < losses[0][0]
