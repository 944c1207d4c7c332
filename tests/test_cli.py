"""The command line: train / evaluate / predict / bench / plot, saved runs, IDX data
and the one-line errors."""
import csv
import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import retrograd
from retrograd import bench, cli

BACKENDS = ["numpy"] + (["native"] if retrograd.native_available() else [])
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _keep_thread_count():
    """--threads sets the process-wide thread count; give it back after each test."""
    threads = retrograd.get_num_threads()
    yield
    retrograd.set_num_threads(threads)


def _run(*args, env=None, cwd=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RETROGRAD_")}
    environment.update({"MPLBACKEND": "Agg"}, **(env or {}))
    return subprocess.run([sys.executable, "-m", "retrograd", *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=environment, cwd=cwd)


def _ok(result):
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def _write_idx(path, array, magic=None, compress=False):
    """``array`` as an MNIST-format IDX file (type code from the dtype, or ``magic``)."""
    code = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C}[array.dtype]
    header = magic if magic is not None else bytes([0, 0, code, array.ndim])
    content = header + np.asarray(array.shape, ">u4").tobytes() + array.astype(
        array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(content)


@pytest.fixture
def idx_dir(tmp_path):
    """Small MNIST-format data: 100 training and 30 test images of 28x28, the training
    files gzip-compressed as MNIST distributes them."""
    rng = np.random.default_rng(0)
    directory = tmp_path / "mnist"
    directory.mkdir()
    for part, n, compress in (("train", 100, True), ("t10k", 30, False)):
        suffix = ".gz" if compress else ""
        labels = np.arange(n) % 10
        _write_idx(directory / f"{part}-images-idx3-ubyte{suffix}",
                   rng.integers(0, 256, (n, 28, 28)).astype(np.uint8), compress=compress)
        _write_idx(directory / f"{part}-labels-idx1-ubyte{suffix}", labels.astype(np.uint8),
                   compress=compress)
    return directory


# ---- train ----------------------------------------------------------------------------------
def test_train_quiet_exits_0_and_prints_the_test_accuracy():
    lines = _ok(_run("train", "--model", "mlp", "--epochs", "2", "--quiet"))
    assert len(lines) == 2
    assert lines[0].startswith("test accuracy: ")
    assert 0.5 < float(lines[0].split()[2]) <= 1.0
    assert lines[1].startswith("time per epoch: ")


def test_train_draws_a_progress_bar_per_epoch_on_stderr():
    result = _run("train", "--model", "mlp", "--epochs", "2")
    _ok(result)
    for epoch in ("Epoch 1/2", "Epoch 2/2"):
        assert epoch in result.stderr
    assert "41/41" in result.stderr and "images/s=" in result.stderr
    assert "val_accuracy=" in result.stderr


@pytest.mark.parametrize("backend", BACKENDS)
def test_train_reports_backend_threads_and_test_accuracy(backend, capsys):
    backend_before = retrograd.get_backend()
    assert cli.main(["train", "--model", "mlp", "--epochs", "3", "--backend", backend,
                     "--threads", "1", "--batch-size", "64", "--lr", "0.2", "--seed", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"backend: {backend}, threads: 1"
    assert out[1].startswith("model: mlp, digits: 1293 training / 144 validation / 360 test")
    assert "epochs 3, batch size 64, SGD lr 0.2, seed 1" in out[1]
    assert out[-2].startswith("test accuracy: ")
    assert out[-1].startswith("time per epoch: ") and f"backend {backend}, 1 threads" in out[-1]
    assert retrograd.get_backend() == backend_before


def test_the_default_model_is_the_cnn_with_its_adam_recipe(capsys):
    assert cli.main(["train", "--epochs", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("model: cnn, ")
    assert "epochs 1, batch size 32, Adam lr 0.003 x0.92 per epoch, seed 0" in out[1]
    assert 0.3 < float(out[-2].split()[2]) <= 1.0


@pytest.mark.parametrize("name, shown", [("adamw", "AdamW lr 0.001"), ("NAG", "NesterovAcceleratedGradient lr 0.001"),
                                         ("rmsProp", "RMSProp lr 0.5")])
def test_optimizer_by_any_case_and_alias_with_its_default_or_given_lr(name, shown, capsys):
    lr = ["--lr", "0.5"] if "0.5" in shown else []
    assert cli.main(["train", "--model", "mlp", "--epochs", "1", "--optimizer", name, *lr]) == 0
    assert f"{shown}, seed 0" in capsys.readouterr().out.splitlines()[1]


def test_same_seed_same_run(capsys):
    outputs = []
    for _ in range(2):
        cli.main(["train", "--model", "mlp", "--epochs", "2", "--backend", "numpy", "--seed", "3"])
        outputs.append([line for line in capsys.readouterr().out.splitlines()
                        if not line.startswith("time per epoch")])
    assert outputs[0] == outputs[1]


# ---- saved runs: save, evaluate, predict, resume, plot history -------------------------------
def test_save_then_evaluate_and_predict(tmp_path):
    run = tmp_path / "run.npz"
    lines = _ok(_run("train", "--model", "mlp", "--epochs", "2", "--save", run))
    test_accuracy = lines[-3].split()[2]
    assert lines[-1] == f"saved: {run} and {tmp_path / 'run.json'} (2 epochs)"
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["epochs_done"] == 2 and record["model"] == "mlp"
    assert len(record["history"]["loss"]) == 2 and len(record["history"]["val_accuracy"]) == 2
    assert retrograd.load_model(run).optimizer.t == 2 * 41

    lines = _ok(_run("evaluate", "--model", run))
    assert lines == [f"accuracy: {test_accuracy}  loss: {lines[0].split()[3]}  "
                     "(360 samples, digits test split)"]

    output = tmp_path / "predictions.csv"
    lines = _ok(_run("predict", "--model", run, "--limit", "5", "--output", output))
    assert lines[0] == "index,label,probability" and len(lines) == 8
    with open(output, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["index", "label", "probability"] and len(rows) == 361
    assert [",".join(r) for r in rows[1:6]] == lines[1:6]
    labels = np.array([int(r[1]) for r in rows[1:]])
    _, (_, y_test) = cli._digits_parts()["train"], cli._digits_parts()["test"]
    assert np.mean(labels == y_test) == pytest.approx(float(test_accuracy), abs=1e-4)
    assert all(0.1 <= float(r[2]) <= 1.0 for r in rows[1:])


def test_resume_continues_the_epochs_and_the_curve_of_an_uninterrupted_run(tmp_path):
    whole, part = tmp_path / "whole.npz", tmp_path / "part.npz"
    common = ["--model", "mlp", "--backend", "numpy", "--seed", "2"]
    _ok(_run("train", *common, "--epochs", "4", "--save", whole, "--quiet"))
    _ok(_run("train", *common, "--epochs", "2", "--save", part, "--quiet"))
    lines = _ok(_run("train", "--resume", part, "--epochs", "4", "--backend", "numpy"))
    assert f"resuming {part}: epoch 3 of 4" in lines
    expected = json.loads((tmp_path / "whole.json").read_text())
    resumed = json.loads((tmp_path / "part.json").read_text())
    assert resumed["epochs_done"] == 4
    assert resumed["history"].keys() == expected["history"].keys()
    for key, values in expected["history"].items():
        np.testing.assert_allclose(resumed["history"][key], values, rtol=1e-6, err_msg=key)
    whole_model, part_model = retrograd.load_model(whole), retrograd.load_model(part)
    for a, b in zip(whole_model.get_weights(), part_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_plot_history_from_the_saved_run_and_from_its_record(tmp_path):
    run = tmp_path / "run.npz"
    _ok(_run("train", "--model", "mlp", "--epochs", "2", "--save", run, "--plot",
             tmp_path / "curves.png", "--quiet"))
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG
    _ok(_run("plot", "history", "--model", run, "--output", tmp_path / "a.png"))
    _ok(_run("plot", "history", "--history", tmp_path / "run.json", "--output",
             tmp_path / "b.png"))
    assert (tmp_path / "a.png").read_bytes()[:8] == PNG
    assert (tmp_path / "b.png").read_bytes() == (tmp_path / "a.png").read_bytes()


@pytest.mark.parametrize("figure", ["activations", "optimizers", "gradients"])
def test_plot_figures_default_to_name_png(figure, tmp_path):
    assert _ok(_run("plot", figure, cwd=tmp_path)) == [f"wrote {figure}.png"]
    assert (tmp_path / f"{figure}.png").read_bytes()[:8] == PNG


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path):
    # A package named matplotlib that fails to import shadows the real one.
    (tmp_path / "matplotlib").mkdir()
    (tmp_path / "matplotlib" / "__init__.py").write_text("raise ImportError('absent')\n")
    result = _run("plot", "activations", env={"PYTHONPATH": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert 'pip install "retrograd[plot]"' in result.stderr
    assert not (tmp_path / "activations.png").exists()


# ---- IDX data --------------------------------------------------------------------------------
def test_train_evaluate_predict_on_idx_files_with_lenet(idx_dir, tmp_path):
    run = tmp_path / "lenet.npz"
    lines = _ok(_run("train", "--data", idx_dir, "--epochs", "1", "--save", run))
    assert lines[1].startswith(f"model: lenet, IDX files in {idx_dir}: 90 training / "
                               "10 validation / 30 test samples")
    assert "Adam lr 0.001 x0.8 per epoch" in lines[1]
    assert retrograd.load_model(run).layers[0].kernels.shape == (6, 1, 5, 5)
    assert _ok(_run("evaluate", "--model", run, "--data", idx_dir))[0].endswith(
        f"(30 samples, IDX test files in {idx_dir})")
    lines = _ok(_run("predict", "--model", run, "--data", idx_dir, "--limit", "30"))
    assert len(lines) == 31 and all(0 <= int(line.split(",")[1]) <= 9 for line in lines[1:])


def test_a_digits_model_refuses_28x28_images(idx_dir, tmp_path):
    run = tmp_path / "mlp.npz"
    _ok(_run("train", "--model", "mlp", "--epochs", "1", "--save", run, "--quiet"))
    result = _run("evaluate", "--model", run, "--data", idx_dir)
    assert result.returncode == 2
    assert "the model expects 64 inputs per sample, the data has 784" in result.stderr


# ---- resnet20 -------------------------------------------------------------------------------
def test_resnet20_trains_on_idx_digits_then_evaluates_and_resumes(tmp_path):
    # the digits as small 8x8 IDX files: any dataset --data gives, on the NumPy backend
    x, y = retrograd.datasets.load_digits()
    directory = tmp_path / "digits"
    directory.mkdir()
    for part, rows in (("train", slice(0, 80)), ("t10k", slice(80, 110))):
        _write_idx(directory / f"{part}-images-idx3-ubyte",
                   np.round(x[rows, :, :, 0] * 255).astype(np.uint8))
        _write_idx(directory / f"{part}-labels-idx1-ubyte", y[rows].astype(np.uint8))
    run = tmp_path / "resnet.npz"
    lines = _ok(_run("train", "--model", "resnet20", "--data", directory, "--epochs", "1",
                     "--backend", "numpy", "--save", run))
    assert lines[1].startswith(f"model: resnet20, IDX files in {directory}: 72 training / "
                               "8 validation / 30 test samples, epochs 1, batch size 32")
    assert lines[-3].startswith("test accuracy: ")
    model = retrograd.load_model(run)
    assert model.layers[0].name == "stem_conv" and model.layers[0].kernels.shape == (16, 1, 3, 3)
    assert sum(p.size for group in model.params for p in group) == 272_970
    assert json.loads((tmp_path / "resnet.json").read_text())["model"] == "resnet20"
    assert _ok(_run("evaluate", "--model", run, "--data", directory, "--backend", "numpy"))[
        0].endswith(f"(30 samples, IDX test files in {directory})")
    lines = _ok(_run("train", "--resume", run, "--epochs", "2", "--backend", "numpy",
                     "--quiet"))
    assert lines[0].startswith("test accuracy: ")
    assert retrograd.load_model(run).optimizer.t == 2 * 3


@pytest.mark.skipif(not retrograd.native_available(), reason="native backend not built (the "
                    "NumPy convolutions take about 20 s per epoch of ResNet-20)")
def test_resnet20_trains_on_the_digits(capsys):
    assert cli.main(["train", "--model", "resnet20", "--epochs", "2", "--backend", "native"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("model: resnet20, digits: 1293 training / 144 validation / 360 "
                             "test samples, epochs 2")
    assert 0.5 < float(out[-2].split()[2]) <= 1.0


# ---- bench ----------------------------------------------------------------------------------
def test_bench_quick_prints_a_table_for_each_thread_count():
    lines = _ok(_run("bench", "--quick", "--threads", "1,2"))
    assert lines[0].startswith("retrograd bench (quick; medians of 3 runs;")
    header = lines[1].split()
    assert header[:4] == ["case", "threads", "numpy", "ms"] and "numpy/native" in header
    rows = lines[3:-1]
    assert len(rows) == 2 * len(bench.CASES)
    assert [row.split()[-6] for row in rows] == ["1"] * 5 + ["2"] * 5
    assert any(row.startswith("LeNet-5 train step") for row in rows)
    assert lines[-1] == "ratios above 1: the native kernels are faster"


# ---- help and errors ------------------------------------------------------------------------
def test_help_lists_every_command_and_the_train_options():
    result = _run("--help")
    assert result.returncode == 0
    for command in ("train", "evaluate", "predict", "bench", "plot", "--debug"):
        assert command in result.stdout
    lines = _ok(_run("train", "--help"))
    text = " ".join(" ".join(lines).split())
    for option in ("--model", "--epochs", "--batch-size", "--optimizer", "--lr", "--backend",
                   "--threads", "--seed", "--data", "--save", "--resume", "--plot", "--quiet",
                   "cnn", "lenet", "mlp", "resnet20"):
        assert option in text


def _bad_magic(directory):
    images = directory / "train-images-idx3-ubyte.gz"
    images.unlink()
    _write_idx(images, np.zeros((3, 28, 28), np.uint8), magic=b"\x08\x03\x00\x00",
               compress=True)
    return directory


@pytest.mark.parametrize("args, message", [
    (["train", "--epochs", "0"], "argument --epochs: expected a positive integer, got '0'"),
    (["train", "--backend", "bogus"], "argument --backend: invalid choice: 'bogus'"),
    (["train", "--lr", "nan"], "argument --lr: expected a finite number > 0, got 'nan'"),
    (["train", "--threads", "-2"], "argument --threads: expected a positive integer, got '-2'"),
    (["train", "--threads", "two"], "argument --threads: expected a positive integer"),
    (["bench", "--threads", "1,0"], "argument --threads: expected positive integers separated "
                                    "by commas, got '1,0'"),
    (["train", "--optimizer", "adamax2"], "argument --optimizer: expected one of adagrad, adam,"),
    (["train", "--model", "resnet"], "argument --model: invalid choice: 'resnet'"),
    (["train", "--model", "lenet"], "lenet: expected images of at least 16x16"),
    (["fly"], "retrograd: error: argument command: invalid choice: 'fly'"),
    ([], "retrograd: error: the following arguments are required: command"),
    (["evaluate", "--model", "missing.npz"], "retrograd evaluate: error: --model: no such file: "
                                             "'missing.npz'"),
    (["predict"], "the following arguments are required: --model"),
    (["train", "--resume", "missing.npz", "--epochs", "3"], "no such file: 'missing.npz'"),
    (["train", "--data", "no-such-dir"], "--data: expected a directory of IDX files, got "
                                         "'no-such-dir'"),
    (["plot", "history"], "expected one of --model RUN.npz"),
    (["plot", "history", "--history", "missing.json"], "no such file: 'missing.json'"),
])
def test_errors_are_one_line_on_stderr_with_exit_code_2(args, message, tmp_path):
    result = _run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert message in result.stderr


def test_bad_environment_backend_is_one_line():
    result = _run("train", "--epochs", "1", env={"RETROGRAD_BACKEND": "gpu"})
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "retrograd train: error: set_backend: expected one of ('native', 'numpy'), got 'gpu'" \
        in result.stderr


def test_idx_errors_name_the_file(idx_dir):
    (idx_dir / "t10k-labels-idx1-ubyte").unlink()
    result = _run("evaluate", "--model", "x.npz", "--data", idx_dir)
    assert result.returncode == 2 and "no such file: 'x.npz'" in result.stderr
    result = _run("train", "--data", idx_dir, "--epochs", "1")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert ("--data: expected t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz in "
            in result.stderr)
    result = _run("train", "--data", _bad_magic(idx_dir), "--epochs", "1")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert "train-images-idx3-ubyte.gz: load_idx: expected magic number 0x00 0x00" in result.stderr
    assert "got '0x08030000'" in result.stderr


def test_resume_errors(tmp_path):
    run = tmp_path / "run.npz"
    _ok(_run("train", "--model", "mlp", "--epochs", "2", "--save", run, "--quiet"))
    result = _run("train", "--resume", run, "--epochs", "2")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "expected --epochs greater than the 2 epochs already done, got 2" in result.stderr
    result = _run("train", "--resume", run, "--epochs", "3", "--lr", "0.5")
    assert result.returncode == 2 and "expected no --lr (the saved run fixes them)" \
        in result.stderr


def test_debug_shows_the_traceback(tmp_path):
    for args in (["--debug", "evaluate", "--model", "missing.npz"],
                 ["evaluate", "--model", "missing.npz", "--debug"]):
        result = _run(*args, cwd=tmp_path)
        assert result.returncode != 0
        assert "Traceback" in result.stderr and "no such file: 'missing.npz'" in result.stderr


# ---- the default recipe -------------------------------------------------------------------------
@pytest.mark.slow
def test_the_default_run_reaches_98_percent_on_the_digits():
    lines = _ok(_run("train", "--quiet"))
    assert float(lines[0].split()[2]) >= 0.98
