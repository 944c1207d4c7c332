"""The command line: python -m retrograd train ..., and its one-line errors."""
import os
import subprocess
import sys

import pytest

import retrograd
from retrograd import cli

BACKENDS = ["numpy"] + (["native"] if retrograd.native_available() else [])


@pytest.fixture(autouse=True)
def _keep_thread_count():
    """--threads sets the process-wide thread count; give it back after each test."""
    threads = retrograd.get_num_threads()
    yield
    retrograd.set_num_threads(threads)


def _run(*args, env=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RETROGRAD_")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "retrograd", *args], capture_output=True,
                          text=True, timeout=120, env=environment)


def test_train_quiet_exits_0_and_prints_the_test_accuracy():
    result = _run("train", "--epochs", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("test accuracy: ")
    assert 0.5 < float(lines[0].split()[2]) <= 1.0
    assert lines[1].startswith("time per epoch: ")


@pytest.mark.parametrize("backend", BACKENDS)
def test_train_reports_backend_threads_epochs_and_test_accuracy(backend, capsys):
    backend_before = retrograd.get_backend()
    assert cli.main(["train", "--model", "mlp", "--epochs", "3", "--backend", backend,
                     "--threads", "1", "--batch-size", "64", "--lr", "0.2", "--seed", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"backend: {backend}, threads: 1"
    assert out[1].startswith("model: mlp, ") and "SGD lr 0.2, seed 1" in out[1]
    epochs = [line for line in out if line.startswith("epoch ")]
    assert len(epochs) == 3
    assert all("loss " in e and "accuracy " in e and "val_accuracy " in e for e in epochs)
    assert out[-2].startswith("test accuracy: ")
    assert out[-1].startswith("time per epoch: ") and f"backend {backend}, 1 threads" in out[-1]
    assert retrograd.get_backend() == backend_before


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_default_model_is_the_cnn_trained_with_adam(backend, capsys):
    assert cli.main(["train", "--epochs", "1", "--backend", backend]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("model: cnn, ") and "Adam lr 0.001, seed 0" in out[1]
    assert 0.3 < float(out[-2].split()[2]) <= 1.0


def test_same_seed_same_run(capsys):
    outputs = []
    for _ in range(2):
        cli.main(["train", "--epochs", "2", "--backend", "numpy", "--seed", "3"])
        outputs.append([line for line in capsys.readouterr().out.splitlines()
                        if not line.startswith("time per epoch")])
    assert outputs[0] == outputs[1]


def test_help_lists_the_train_command():
    result = _run("--help")
    assert result.returncode == 0 and "train" in result.stdout
    result = _run("train", "--help")
    assert result.returncode == 0 and "--batch-size" in result.stdout
    assert "mlp" in result.stdout and "cnn" in result.stdout


@pytest.mark.parametrize("args, env, message", [
    (["train", "--epochs", "0"], None,
     "retrograd train: error: argument --epochs: expected a positive integer, got '0'"),
    (["train", "--backend", "bogus"], None,
     "retrograd train: error: argument --backend: invalid choice: 'bogus'"),
    (["train", "--lr", "nan"], None, "argument --lr: expected a finite number > 0, got 'nan'"),
    (["train", "--threads", "-2"], None, "argument --threads: expected a positive integer"),
    (["train", "--model", "resnet"], None, "argument --model: invalid choice: 'resnet'"),
    (["fly"], None, "retrograd: error: argument command: invalid choice: 'fly'"),
    ([], None, "retrograd: error: the following arguments are required: command"),
    (["train", "--epochs", "1"], {"RETROGRAD_BACKEND": "gpu"},
     "retrograd train: error: set_backend: expected one of ('native', 'numpy'), got 'gpu'"),
])
def test_errors_are_one_line_on_stderr_with_exit_code_2(args, env, message):
    result = _run(*args, env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert message in result.stderr
