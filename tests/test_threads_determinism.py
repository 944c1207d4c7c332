"""Threads, determinism and fork (issue 6, "Soak, threads, determinism").

- Two Python threads training two models at once get bit for bit the results of training
  them one after the other: kernels release the GIL and keep no shared mutable state,
  and use_backend is per thread (one thread may train on NumPy, the other natively).
- The same seed and thread count give bit-identical weights after an epoch on each
  backend; native results do not even depend on the thread count, where kernels really
  run several threads; native and NumPy agree within float32 tolerance after an epoch.
- set_num_threads between steps reaches every kernel call of the next step and OpenMP
  starts that many threads; changing it while two threads train never deadlocks (run in
  a subprocess, under a timeout: this file is also a script).
- fork after the parent used OpenMP's threads: the child runs the native kernels on one
  thread and finishes, the parent keeps its threads (retrograd._config explains why: GNU
  OpenMP would wait forever in such a child, as the last test shows).
Correctness only: no timings are asserted.
"""
import json
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest

import retrograd
from retrograd.backend import native_ops
from retrograd.datasets import load_digits
from retrograd.layers import (BatchNormalization, Conv2D, Dense, Flatten, LayerNormalization,
                              MaxPooling2D, ReLU)
from retrograd.losses import SparseCategoricalCrossEntropy
from retrograd.optimizers import Adam

from conftest import MULTI_THREAD_ELEMENTS, TOLERANCES
from test_cnn_training import small_cnn

needs_native = pytest.mark.skipif(not retrograd.native_available(), reason="native not built")
if retrograd.native_available():
    from retrograd._native import _runtime

WIDE_BATCH = 48


def wide_cnn(seed):
    """A CNN on 32x32 images whose kernels run on several threads at batch 48: the first
    ReLU sees 48*32*32*16 elements, three threads' worth (MULTI_THREAD_ELEMENTS)."""
    return retrograd.Sequential([
        Conv2D(1, 16, 3, padding=1, seed=seed), ReLU(), MaxPooling2D(2),
        Conv2D(16, 16, 3, padding=1, seed=seed + 1), ReLU(), MaxPooling2D(2),
        Flatten(), Dense(16 * 8 * 8, 10, seed=seed + 2)])


def normalized_cnn(seed):
    """wide_cnn with BatchNormalization after each convolution and LayerNormalization before
    the classifier: at batch 48 the first BatchNormalization's statistics and sums run on
    three threads (48*32*32*16 values)."""
    return retrograd.Sequential([
        Conv2D(1, 16, 3, padding=1, seed=seed), BatchNormalization(16), ReLU(), MaxPooling2D(2),
        Conv2D(16, 16, 3, padding=1, seed=seed + 1), BatchNormalization(16), ReLU(),
        MaxPooling2D(2), Flatten(), Dense(16 * 8 * 8, 32, seed=seed + 2), LayerNormalization(32),
        ReLU(), Dense(32, 10, seed=seed + 3)])


def wide_data():
    """96 digits scaled up 4x to 32x32: two steps of 48 per epoch."""
    x, y = load_digits()
    return np.kron(x[:96], np.ones((1, 4, 4, 1), np.float32)), y[:96]


def train(backend, model, x, y, batch_size=32, epochs=1):
    """(weights, per-epoch losses) after fitting ``model`` with Adam 1e-3 and seed 0."""
    model.compile(SparseCategoricalCrossEntropy(from_logits=True), Adam(learning_rate=1e-3))
    with retrograd.use_backend(backend):
        history = model.fit(x, y, epochs=epochs, batch_size=batch_size, seed=0, verbose=0)
    return model.get_weights(), history.history["loss"]


def assert_identical(a, b):
    (weights_a, losses_a), (weights_b, losses_b) = a, b
    assert losses_a == losses_b and len(weights_a) == len(weights_b)
    for p, q in zip(weights_a, weights_b):
        np.testing.assert_array_equal(p, q)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def one_epoch(digits):
    """run(backend, threads): the small CNN (seed 0) after one epoch on all the digits,
    computed once per configuration for the module."""
    done = {}

    def run(backend, threads):
        if (backend, threads) not in done:
            before = retrograd.get_num_threads()
            retrograd.set_num_threads(threads)
            try:
                done[backend, threads] = train(backend, small_cnn(0), *digits)
            finally:
                retrograd.set_num_threads(before)
        return done[backend, threads]
    return run


def run_in_threads(jobs, timeout=300):
    """Call each job (a function of no argument) in its own thread, all released at
    once; their results in order.  A thread's exception is raised here."""
    results, errors = [None] * len(jobs), []
    barrier = threading.Barrier(len(jobs))

    def worker(i):
        try:
            barrier.wait()
            results[i] = jobs[i]()
        except BaseException as exc:      # handed to the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a training thread did not finish"
    if errors:
        raise errors[0]
    return results


# ---- two Python threads ----------------------------------------------------------------------
CONCURRENT = [("native", "native", "small"), ("numpy", "native", "small"),
              ("native", "native", "wide")]


@needs_native
@pytest.mark.parametrize("first, second, size", CONCURRENT,
                         ids=["-".join(case) for case in CONCURRENT])
def test_two_threads_training_at_once_match_training_one_after_the_other(
        digits, restore_num_threads, first, second, size):
    retrograd.set_num_threads(2)
    if size == "small":
        x, y = digits[0][:640], digits[1][:640]
        jobs = [lambda b=b, s=s: train(b, small_cnn(s), x, y)
                for s, b in enumerate((first, second))]
    else:
        x, y = wide_data()
        jobs = [lambda b=b, s=s: train(b, wide_cnn(s), x, y, WIDE_BATCH, epochs=2)
                for s, b in enumerate((first, second))]
    one_after_the_other = [job() for job in jobs]
    at_once = run_in_threads(jobs)
    for alone, together in zip(one_after_the_other, at_once):
        assert_identical(alone, together)


# ---- determinism ---------------------------------------------------------------------------
@pytest.mark.parametrize("backend, threads",
                         [("numpy", 1)] + ([("native", 1), ("native", 2)]
                                           if retrograd.native_available() else []))
def test_the_same_seed_and_thread_count_give_bit_identical_weights_after_an_epoch(
        digits, one_epoch, restore_num_threads, backend, threads):
    retrograd.set_num_threads(threads)
    assert_identical(train(backend, small_cnn(0), *digits), one_epoch(backend, threads))


@needs_native
def test_native_training_does_not_depend_on_the_thread_count(restore_num_threads):
    assert WIDE_BATCH * 32 * 32 * 16 >= MULTI_THREAD_ELEMENTS      # three threads really run
    x, y = wide_data()
    runs = []
    for threads in (1, 2, 3, 3):
        retrograd.set_num_threads(threads)
        runs.append(train("native", wide_cnn(0), x, y, WIDE_BATCH, epochs=2))
    for run in runs[1:]:
        assert_identical(runs[0], run)


@needs_native
def test_native_training_with_normalization_does_not_depend_on_the_thread_count(
        restore_num_threads):
    x, y = wide_data()
    runs = []
    for threads in (1, 2, 3, 4):   # (the weights include the moving statistics)
        retrograd.set_num_threads(threads)
        runs.append(train("native", normalized_cnn(0), x, y, WIDE_BATCH, epochs=2))
    for run in runs[1:]:
        assert_identical(runs[0], run)


@needs_native
def test_native_and_numpy_agree_after_an_epoch(one_epoch):
    native_weights, native_losses = one_epoch("native", 2)
    numpy_weights, numpy_losses = one_epoch("numpy", 1)
    np.testing.assert_allclose(native_losses, numpy_losses, rtol=1e-5)
    assert len(native_weights) == len(numpy_weights)
    for a, b in zip(native_weights, numpy_weights):
        np.testing.assert_allclose(a, b, **TOLERANCES[np.dtype(np.float32)])


# ---- changing the thread count -------------------------------------------------------------
SWITCHES = [1, 3, 2, 4, 1, 2, 4, 3]


def switching_run():
    """Subprocess body: set_num_threads before each step, recording the count every
    native kernel call reads and the team OpenMP starts for it; then two threads train
    while a third changes the count every millisecond."""
    from retrograd._native import _runtime as runtime

    seen = []
    read = native_ops.get_num_threads

    def recording():
        seen.append(read())
        return seen[-1]

    native_ops.get_num_threads = recording
    x, y = wide_data()
    model = wide_cnn(0).compile(SparseCategoricalCrossEntropy(from_logits=True), Adam())
    steps = []
    with retrograd.use_backend("native"):
        for k in SWITCHES:
            retrograd.set_num_threads(k)
            seen.clear()
            model.train_step(x[:WIDE_BATCH], y[:WIDE_BATCH])
            now = retrograd.get_num_threads()
            steps.append({"set": k, "get": now, "kernels": sorted(set(seen)), "calls": len(seen),
                          "team": runtime.team_size(now)})
    native_ops.get_num_threads = read

    retrograd.set_num_threads(1)
    jobs = [lambda s=s: train("native", wide_cnn(s), x, y, WIDE_BATCH, epochs=2) for s in (0, 1)]
    alone = [job() for job in jobs]
    done = threading.Event()
    switches = [0]

    def switcher():
        rng = random.Random(0)
        while not done.is_set():
            retrograd.set_num_threads(rng.randint(1, 4))
            switches[0] += 1
            time.sleep(0.001)

    flipping = threading.Thread(target=switcher)
    flipping.start()
    try:
        together = run_in_threads(jobs)
    finally:
        done.set()
        flipping.join()
    same = all(a[1] == b[1] and all(np.array_equal(p, q) for p, q in zip(a[0], b[0]))
               for a, b in zip(alone, together))
    return {"steps": steps, "switches": switches[0], "same": same}


@needs_native
def test_set_num_threads_between_steps_takes_effect_and_never_deadlocks():
    out = subprocess.run([sys.executable, __file__, "switching"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert len(result["steps"]) == len(SWITCHES)
    for k, step in zip(SWITCHES, result["steps"]):
        # Every kernel call of the step read the count set before it, and OpenMP gives a
        # kernel asking for that many threads exactly that many.
        assert step == {"set": k, "get": k, "kernels": [k], "calls": step["calls"], "team": k}
        assert step["calls"] > 10
    assert result["switches"] > 0 and result["same"]


@needs_native
def test_the_team_probe_sees_what_openmp_really_starts():
    # OMP_THREAD_LIMIT caps every team: the probe reports the cap, not the request.
    code = ("from retrograd._native import _runtime as r; "
            "print([r.team_size(n) for n in (1, 2, 3, 4)])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "OMP_THREAD_LIMIT": "2"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0] == "[1, 2, 2, 2]"
    assert [_runtime.team_size(n) for n in (1, 2, 3, 4)] == [1, 2, 3, 4]


# ---- fork ----------------------------------------------------------------------------------
def start_forked(target, *args):
    """A child process forked from this one, running target(*args)."""
    child = multiprocessing.get_context("fork").Process(target=target, args=args)
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads (OpenMP's, OpenBLAS's)
        # may deadlock: that is what these tests are about.
        warnings.filterwarnings("ignore", "This process .* is multi-threaded",
                                DeprecationWarning)
        child.start()
    return child


def _in_forked_child(conn, x, expected, batch, expected_loss):
    """Child body: the thread count it sees, the team OpenMP starts for it, and native
    kernels and a training step run there."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            before = retrograd.get_num_threads()
            retrograd.set_num_threads(4)
        with retrograd.use_backend("native"):
            sigmoid = native_ops.sigmoid_forward(x)
            loss = small_cnn(0).compile(SparseCategoricalCrossEntropy(from_logits=True),
                                        Adam()).train_step(*batch)
        conn.send({"before": before, "after": retrograd.get_num_threads(),
                   "warnings": [str(w.message) for w in caught if w.category is RuntimeWarning],
                   "team": _runtime.team_size(retrograd.get_num_threads()),
                   "sigmoid": bool(np.array_equal(sigmoid, expected)),
                   "loss": loss == expected_loss})
    except BaseException as exc:
        conn.send({"error": repr(exc)})


@needs_native
def test_a_child_forked_after_the_parent_used_openmp_runs_kernels_on_one_thread(
        digits, restore_num_threads):
    retrograd.set_num_threads(2)
    assert _runtime.team_size(2) == 2           # the parent's OpenMP thread pool exists
    x = np.linspace(-4, 4, MULTI_THREAD_ELEMENTS, dtype=np.float32)
    batch = (digits[0][:32], digits[1][:32])
    with retrograd.use_backend("native"):
        expected = native_ops.sigmoid_forward(x)     # on two threads
        expected_loss = small_cnn(0).compile(SparseCategoricalCrossEntropy(from_logits=True),
                                             Adam()).train_step(*batch)
    receiver, sender = multiprocessing.get_context("fork").Pipe(duplex=False)
    child = start_forked(_in_forked_child, sender, x, expected, batch, expected_loss)
    report = receiver.recv() if receiver.poll(120) else None
    child.join(30)
    if child.is_alive():
        child.kill()
        child.join()
    assert report is not None, "the forked child hung"
    assert child.exitcode == 0
    (warning,) = report.pop("warnings")
    assert warning.startswith("set_num_threads: expected 1 in a process forked")
    assert report == {"before": 1, "after": 1, "team": 1, "sigmoid": True, "loss": True}
    # The parent keeps its threads.
    assert retrograd.get_num_threads() == 2 and _runtime.team_size(2) == 2


@needs_native
@pytest.mark.skipif(retrograd.native_available()
                    and not _runtime.compiler().startswith("GNU"), reason="GNU OpenMP only")
def test_gnu_openmp_itself_never_returns_from_a_team_in_such_a_child():
    # Why retrograd keeps a forked child on one thread: asked for a team there, libgomp
    # waits for the parent's pool threads, which fork did not copy.  (team_size takes its
    # count as an argument, so it bypasses get_num_threads.)
    assert _runtime.team_size(2) == 2
    child = start_forked(_runtime.team_size, 2)
    child.join(2)
    hung = child.is_alive()
    child.kill()
    child.join()
    assert hung


if __name__ == "__main__":
    print(json.dumps({"switching": switching_run}[sys.argv[1]]()))
