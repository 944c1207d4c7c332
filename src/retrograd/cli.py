"""The command line: ``python -m retrograd [--debug] <command> [options]`` (or ``retrograd``).

Commands:
  train      train a model on the bundled 8x8 digits (or MNIST-format IDX files with
             --data) and report its test accuracy; --save / --resume checkpoint a run.
  evaluate   loss and accuracy of a saved model on the test data.
  predict    predicted labels of a saved model.
  bench      native kernels against NumPy (and PyTorch when importable).
  plot       figures: activations, optimizers, gradients, history (PNG files).

A saved run is two files: ``train --save run.npz`` writes the model with its
optimizer state to ``run.npz`` (``retrograd.load_model`` reads it) and the run
record to ``run.json`` next to it (same name, suffix ".json"): the model and
data it was trained on, the seed, batch size, augmentation, the number of
epochs done and the History of every epoch.  ``train --resume run.npz``
continues that run; ``plot history --model run.npz`` (or ``--history
run.json``) draws its curves.

Errors are reported as one line on stderr with exit status 2; ``--debug``
shows the traceback instead.
"""
import argparse
import csv
import inspect
import json
import math
import os
import sys
import time

import numpy as np

EXIT_ERROR = 2
RUN_FORMAT = "retrograd.cli.run"
RUN_VERSION = 1
# MNIST's file names; each may also be gzip-compressed with the suffix ".gz".
IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


class CommandError(Exception):
    """An error of the command line's own (bad file, missing option...): its message
    is printed as is, on one line."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: "retrograd train: error: ..." and exit status 2."""

    def error(self, message):
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


# ---- argument types ---------------------------------------------------------------------------
def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _thread_list(text):
    try:
        return [_positive_int(part) for part in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected positive integers separated by commas, got {text!r}") from None


def _optimizer_classes():
    """{lower-case name: class} for every optimizer and alias retrograd.optimizers exports."""
    from . import optimizers
    return {name.lower(): getattr(optimizers, name) for name in optimizers.__all__
            if name != "Optimizer"}


def _optimizer_name(text):
    classes = _optimizer_classes()
    if text.lower() not in classes:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(sorted(classes))} (any case), got {text!r}")
    return text.lower()


# ---- models -----------------------------------------------------------------------------------
def _build_model(name, image_shape, seed):
    """The zoo's network ``name`` for images of ``image_shape`` (H, W, C); too small
    images are a CommandError naming the model."""
    from . import zoo
    height, width, _ = image_shape
    side = zoo.MIN_IMAGE_SIDE.get(name)
    if side is not None and min(height, width) < side:
        hint = " (MNIST's 28x28 through --data)" if name == "lenet" else ""
        raise CommandError(f"{name}: expected images of at least {side}x{side}{hint}, got "
                           f"{height}x{width}")
    if name in RESNETS:
        return zoo.resnet(RESNETS[name], image_shape, seed=seed)
    return getattr(zoo, name)(image_shape, seed=seed)


# name of a network in retrograd.zoo -> its training recipe: optimizer, learning rate,
# epochs, batch size, the factor applied to the learning rate after each epoch (an
# ExponentialDecay schedule; 1 keeps it constant) and the ImageAugmenter shift (0: no
# augmentation).
MODELS = {
    "cnn": {"optimizer": "adam", "lr": 3e-3, "epochs": 40, "batch_size": 32, "decay": 0.92,
            "shift": 0},
    "lenet": {"optimizer": "adam", "lr": 1e-3, "epochs": 5, "batch_size": 64, "decay": 0.8,
              "shift": 0},
    "mlp": {"optimizer": "sgd", "lr": 0.1, "epochs": 50, "batch_size": 32, "decay": 1.0,
            "shift": 0},
    "resnet20": {"optimizer": "adam", "lr": 3e-3, "epochs": 30, "batch_size": 32,
                 "decay": 0.9, "shift": 1},
}
# CLI names of zoo.resnet's networks -> their depth.
RESNETS = {"resnet20": 20}
DEFAULT_MODEL = {"digits": "cnn", "idx": "lenet"}


# ---- data -------------------------------------------------------------------------------------
def _digits_parts():
    """The digits' 80/20 stratified train/test split with seed 0."""
    from .datasets import load_digits, train_test_split
    x, y = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(x, y, 0.2, stratify=y, seed=0)
    return {"train": (x_train, y_train), "test": (x_test, y_test)}


def _idx_file(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    raise CommandError(f"--data: expected {name} or {name}.gz in {directory!r}, found neither")


def _idx_part(directory, part, labels=True):
    """Images (N, H, W, 1) float32 in [0, 1] and int64 labels (None when ``labels`` is
    False) of the MNIST-format IDX files of ``part`` ("train" or "test") in ``directory``."""
    if not os.path.isdir(directory):
        raise CommandError(f"--data: expected a directory of IDX files, got {directory!r}")
    image_name, label_name = IDX_FILES[part]
    path = _idx_file(directory, image_name)
    images = _load_idx(path)
    if images.ndim != 3 or len(images) == 0:
        raise CommandError(f"{path}: expected images of shape (N, height, width), got "
                           f"shape {images.shape}")
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    x = (images.astype(np.float32) / np.float32(scale))[..., None]
    if not labels:
        return x, None
    path = _idx_file(directory, label_name)
    y = _load_idx(path)
    if y.ndim != 1 or len(y) != len(x) or y.dtype.kind not in "iu" or y.min() < 0 or y.max() > 9:
        raise CommandError(f"{path}: expected {len(x)} integer labels in 0..9, got shape "
                           f"{y.shape} of {y.dtype}")
    return x, y.astype(np.int64)


def _load_idx(path):
    from .datasets import load_idx
    try:
        return load_idx(path)
    except ValueError as exc:
        raise CommandError(f"{path}: {exc}") from None


def _data(data, part, labels=True):
    """(x, y) of the digits (``data`` None) or of the IDX files in the directory ``data``."""
    if data is None:
        return _digits_parts()[part]
    return _idx_part(data, part, labels)


def _model_inputs(model, x):
    """``x`` (N, H, W, C) in the layout the model's first layer takes: flattened for
    a Dense layer, else as it is."""
    from .layers import Dense
    first = model.layers[0]
    if isinstance(first, Dense):
        x = x.reshape(len(x), -1)
        if x.shape[1] != first.input_size:
            raise CommandError(f"the model expects {first.input_size} inputs per sample, the "
                               f"data has {x.shape[1]} (images {x.shape[1:]})")
    return x


# ---- saved runs -------------------------------------------------------------------------------
def run_record_path(path):
    """The run record written beside a saved model: same name, suffix ".json"."""
    root, _ = os.path.splitext(os.fspath(path))
    return root + ".json"


def _read_record(path):
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path}: expected a run record (JSON), got invalid JSON "
                           f"({exc})") from None
    if not isinstance(record, dict) or record.get("format") != RUN_FORMAT:
        raise CommandError(f"{path}: expected a run record written by 'retrograd train "
                           f"--save', got {type(record).__name__}")
    if record.get("version") != RUN_VERSION:
        raise CommandError(f"{path}: expected run record version {RUN_VERSION}, got "
                           f"{record.get('version')!r}")
    return record


def _write_record(path, record):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def _load_model(path):
    from .models import load_model
    if not os.path.isfile(path):
        raise CommandError(f"--model: no such file: {path!r}")
    return load_model(path)


# ---- train ------------------------------------------------------------------------------------
def _say(args):
    return (lambda *a, **k: None) if args.quiet else print


def train(args):
    """The ``train`` command: runs in the chosen backend (a context, so calling
    ``main`` from Python leaves the process-wide default alone)."""
    from . import _config
    if args.plot is not None:
        _require_matplotlib()
    with _config.use_backend(args.backend or _config.get_backend()):
        if args.threads is not None:
            _config.set_num_threads(args.threads)
        return _train(args)


def _new_run(args, image_shape, train_samples):
    """(model, record, epochs) of a fresh run from the options and the model's recipe."""
    from .losses import SparseCategoricalCrossEntropy
    from .schedules import ExponentialDecay
    name = args.model or DEFAULT_MODEL["digits" if args.data is None else "idx"]
    recipe = MODELS[name]
    optimizer = args.optimizer or recipe["optimizer"]
    cls = _optimizer_classes()[optimizer]
    if args.lr is not None:
        lr = args.lr
    elif optimizer == recipe["optimizer"]:
        lr = recipe["lr"]
    else:
        lr = inspect.signature(cls).parameters["learning_rate"].default
    seed = 0 if args.seed is None else args.seed
    batch_size = args.batch_size or recipe["batch_size"]
    model = _build_model(name, image_shape, seed)
    # The decay is per epoch, whatever the run's length: a resumed run follows the
    # same rates as an uninterrupted one.
    steps = math.ceil(train_samples / batch_size)
    decay = recipe["decay"]
    learning_rate = lr if decay == 1.0 else ExponentialDecay(lr, decay_steps=steps,
                                                             decay_rate=decay)
    model.compile(SparseCategoricalCrossEntropy(from_logits=True), cls(learning_rate))
    record = {"format": RUN_FORMAT, "version": RUN_VERSION, "model": name,
              "data": None if args.data is None else os.path.abspath(args.data),
              "optimizer": f"{cls.__name__} lr {lr}" + ("" if decay == 1.0 else
                                                         f" x{decay} per epoch"),
              "seed": seed, "batch_size": batch_size, "shift": recipe["shift"],
              "epochs_done": 0, "history": {}}
    return model, record, args.epochs or recipe["epochs"]


def _resumed_run(args):
    """(model, record) of the saved run ``args.resume``; the options it fixes are refused."""
    fixed = [option for option, value in (("--model", args.model), ("--optimizer", args.optimizer),
                                          ("--lr", args.lr), ("--batch-size", args.batch_size),
                                          ("--seed", args.seed), ("--data", args.data))
             if value is not None]
    if fixed:
        raise CommandError(f"--resume: expected no {', '.join(fixed)} (the saved run fixes "
                           "them), got them")
    model = _load_model(args.resume)
    if model.optimizer is None:
        raise CommandError(f"--resume: expected a model saved with its optimizer by "
                           f"'retrograd train --save', got {args.resume!r} without one")
    record = _read_record(run_record_path(args.resume))
    return model, record


def _train(args):
    from . import _config
    from .callbacks import Callback
    from .datasets import ImageAugmenter, train_test_split

    if args.resume is not None:
        model, record = _resumed_run(args)
        epochs = args.epochs
        if epochs is None or epochs <= record["epochs_done"]:
            raise CommandError(f"--resume: expected --epochs greater than the "
                               f"{record['epochs_done']} epochs already done, got {epochs}")
        args.data = record["data"]
    x_train, y_train = _data(args.data, "train")
    x_test, y_test = _data(args.data, "test")
    # 10% of the training part, stratified, is held out for the per-epoch validation
    # values, so the test part is seen only once, at the end.
    x_fit, x_val, y_fit, y_val = train_test_split(x_train, y_train, 0.1, stratify=y_train,
                                                  seed=0)
    if args.resume is None:
        model, record, epochs = _new_run(args, x_train.shape[1:], len(x_fit))
    x_fit, x_val, x_test = (_model_inputs(model, x) for x in (x_fit, x_val, x_test))
    save = args.save or args.resume
    seed, batch_size = record["seed"], record["batch_size"]
    augment = ImageAugmenter(shift=record["shift"], seed=seed) if record["shift"] else None

    say = _say(args)
    say(f"backend: {_config.get_backend()}, threads: {_config.get_num_threads()}")
    source = "digits" if args.data is None else f"IDX files in {args.data}"
    if args.resume is not None:
        say(f"resuming {args.resume}: epoch {record['epochs_done'] + 1} of {epochs}")
    say(f"model: {record['model']}, {source}: {len(x_fit)} training / {len(x_val)} validation "
        f"/ {len(x_test)} test samples, epochs {epochs}, batch size {batch_size}, "
        f"{record['optimizer']}, seed {seed}")

    history = record["history"]

    class _Record(Callback):
        """Keeps the run record current after every epoch, so --save holds the
        epochs done even when training is interrupted."""

        def on_epoch_end(self, epoch, logs=None):
            for key, value in logs.items():
                history.setdefault(key, []).append(float(value))
            record["epochs_done"] = epoch + 1
            if save is not None:
                model.save(save, include_optimizer=True)
                _write_record(run_record_path(save), record)

    start, done_before = time.perf_counter(), record["epochs_done"]
    model.fit(x_fit, y_fit, epochs=epochs, batch_size=batch_size, validation_data=(x_val, y_val),
              seed=seed, verbose=0 if args.quiet else 1, callbacks=[_Record()],
              initial_epoch=done_before, augment=augment)
    per_epoch = (time.perf_counter() - start) / max(record["epochs_done"] - done_before, 1)
    test = model.evaluate(x_test, y_test)
    print(f"test accuracy: {test['accuracy']:.4f}  (loss {test['loss']:.4f})")
    print(f"time per epoch: {per_epoch:.3f} s  (backend {_config.get_backend()}, "
          f"{_config.get_num_threads()} threads)")
    if save is not None:
        say(f"saved: {save} and {run_record_path(save)} ({record['epochs_done']} epochs)")
    if args.plot is not None:
        from .plots import plot_history
        plot_history(history, args.plot)
        say(f"plot: {args.plot}")
    return 0


# ---- evaluate / predict -----------------------------------------------------------------------
def _inference_setup(args):
    from . import _config
    if args.threads is not None:
        _config.set_num_threads(args.threads)
    return _config.use_backend(args.backend or _config.get_backend())


def evaluate(args):
    """The ``evaluate`` command: loss and accuracy of a saved model on the test data."""
    from .layers import Softmax
    from .losses import SparseCategoricalCrossEntropy
    from .optimizers import SGD
    with _inference_setup(args):
        model = _load_model(args.model)
        x, y = _data(args.data, "test")
        x = _model_inputs(model, x)
        if model.loss is None:
            # A model saved without its training section: its outputs are logits unless
            # it ends in Softmax; the optimizer is never used here.
            from_logits = not isinstance(model.layers[-1], Softmax)
            model.compile(SparseCategoricalCrossEntropy(from_logits=from_logits), SGD())
        result = model.evaluate(x, y, batch_size=args.batch_size)
    source = "digits test split" if args.data is None else f"IDX test files in {args.data}"
    print(f"accuracy: {result['accuracy']:.4f}  loss: {result['loss']:.4f}  "
          f"({len(x)} samples, {source})")
    return 0


def predict(args):
    """The ``predict`` command: predicted labels and their probabilities."""
    with _inference_setup(args):
        model = _load_model(args.model)
        x, _ = _data(args.data, "test", labels=False)
        outputs = model.predict(_model_inputs(model, x), batch_size=args.batch_size)
    from .layers import Softmax
    outputs = outputs.astype(np.float64)
    if not isinstance(model.layers[-1], Softmax):
        # Logits: their softmax gives the probabilities.
        outputs = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        outputs /= outputs.sum(axis=1, keepdims=True)
    labels = outputs.argmax(axis=1)
    probabilities = outputs[np.arange(len(x)), labels]
    rows = [(i, int(label), f"{p:.4f}") for i, (label, p) in enumerate(zip(labels,
                                                                           probabilities))]
    if args.output is not None:
        with open(args.output, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["index", "label", "probability"])
            writer.writerows(rows)
    shown = rows[:args.limit]
    print("index,label,probability")
    for row in shown:
        print(",".join(map(str, row)))
    if len(rows) > len(shown):
        print(f"({len(rows) - len(shown)} more not shown; --output FILE.csv writes all)")
    if args.output is not None:
        print(f"wrote {len(rows)} predictions to {args.output}")
    return 0


# ---- bench ------------------------------------------------------------------------------------
def bench(args):
    """The ``bench`` command: the table of ``retrograd.bench``."""
    from . import _config
    from . import bench as _bench
    rows = _bench.run(threads=args.threads, quick=args.quick, repeats=args.repeats)
    torch = "PyTorch " + _bench._torch().__version__ if _bench._torch() else "no PyTorch"
    print(f"retrograd bench ({'quick' if args.quick else 'batch 64'}; medians of "
          f"{args.repeats or (3 if args.quick else 10)} runs; native "
          f"{'built' if _config.native_available() else 'not built'}; {torch})")
    print(_bench.format_table(rows))
    print("ratios above 1: the native kernels are faster")
    return 0


# ---- plot -------------------------------------------------------------------------------------
def _require_matplotlib():
    from .plots import INSTALL_HINT
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CommandError(INSTALL_HINT) from None


def plot(args):
    """The ``plot`` command: one figure of ``retrograd.plots`` as a PNG."""
    from . import plots
    _require_matplotlib()
    output = args.output or f"{args.figure}.png"
    if args.figure != "history":
        if args.model is not None or args.history is not None:
            raise CommandError(f"plot {args.figure}: expected no --model or --history (only "
                               "'plot history' reads a run)")
        plots.FIGURES[args.figure](output)
    else:
        if (args.model is None) == (args.history is None):
            raise CommandError("plot history: expected one of --model RUN.npz (a run saved by "
                               "'retrograd train --save') or --history RUN.json")
        if args.model is not None and not os.path.isfile(args.model):
            raise CommandError(f"plot history: no such file: {args.model!r}")
        path = args.history or run_record_path(args.model)
        if not os.path.isfile(path):
            raise CommandError(f"plot history: no such file: {path!r} (the run record "
                               "'retrograd train --save' writes)")
        plots.plot_history(_read_record(path)["history"], output)
    print(f"wrote {output}")
    return 0


# ---- parser and entry point -------------------------------------------------------------------
def _add_backend_options(p):
    from ._config import BACKENDS
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="kernel backend (default: RETROGRAD_BACKEND, else native when built)")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="threads of the native kernels (default: RETROGRAD_NUM_THREADS or "
                        "OpenMP's default)")


def build_parser():
    """The argparse parser of ``python -m retrograd`` with its subcommands."""
    debug = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a command's parser leaves the flag alone unless it is given after the command.
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the traceback of an error")
    parser = _Parser(prog="retrograd", description="retrograd: deep learning for multicore CPUs.",
                     epilog="Run 'retrograd <command> --help' for a command's options.")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error instead of one line")
    commands = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser)
    commands.required = True

    p = commands.add_parser(
        "train", parents=[debug], help="train a model (digits, or IDX files with --data)",
        description="Train on the 8x8 digits (80/20 stratified split, seed 0; 10%% of the "
                    "training part held out for validation) or on MNIST-format IDX files, "
                    "and report the test accuracy.  Each model has a recipe (optimizer, "
                    "learning rate with a per-epoch decay, epochs, batch size) that the "
                    "options override.")
    p.add_argument("--model", choices=sorted(MODELS), default=None,
                   help="cnn (default on the digits: two 3x3 convolutions of 32 and 64 "
                        "filters with max pooling, dropout, 128-10 dense; Adam lr 0.003 x0.92 "
                        "per epoch, 40 epochs), lenet (default with --data: LeNet-5; Adam lr "
                        "0.001 x0.8 per epoch, 5 epochs, batch 64), mlp (128 ReLU units; SGD "
                        "lr 0.1, 50 epochs) or resnet20 (He et al.'s CIFAR ResNet-20 with "
                        "BatchNormalization; Adam lr 0.003 x0.9 per epoch, 30 epochs, shifts of "
                        "up to 1 pixel)")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help="passes over the data (the model's recipe); with --resume, the total")
    p.add_argument("--batch-size", type=_positive_int, default=None,
                   help="mini-batch size (the recipe's: 32, lenet 64)")
    p.add_argument("--optimizer", type=_optimizer_name, default=None,
                   help="any optimizer of retrograd.optimizers by name or alias, any case "
                        "(sgd, momentum, nag, adagrad, rmsprop, adam, adamax, nadam, adamw, "
                        "radam, lion); default: the recipe's")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="initial learning rate (the recipe's for its optimizer, else the "
                        "optimizer's default)")
    _add_backend_options(p)
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the weights, dropout and the shuffling (0)")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="directory with MNIST-format IDX files: train-images-idx3-ubyte, "
                        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
                        "t10k-labels-idx1-ubyte (each raw or .gz)")
    p.add_argument("--save", metavar="PATH", default=None,
                   help="save the model with its optimizer state to PATH after every epoch, "
                        "and the run record (epochs done, history) to PATH with suffix .json")
    p.add_argument("--resume", metavar="PATH", default=None,
                   help="continue the run saved at PATH up to --epochs in all (same model, "
                        "optimizer state, data, seed and batch size); saved back to PATH "
                        "unless --save names another file")
    p.add_argument("--plot", metavar="PATH", default=None,
                   help="draw the training curves to this PNG (needs matplotlib)")
    p.add_argument("--quiet", action="store_true",
                   help="print only the test accuracy and the time per epoch")
    p.set_defaults(run=train)

    for name, function, text in (
            ("evaluate", evaluate, "loss and accuracy of a saved model"),
            ("predict", predict, "predicted labels of a saved model")):
        p = commands.add_parser(name, parents=[debug], help=text,
                                description=f"{text[0].upper()}{text[1:]} on the digits' "
                                            "test split (seed 0) or on the t10k IDX files "
                                            "of --data.")
        p.add_argument("--model", metavar="PATH", required=True,
                       help="a model file written by 'retrograd train --save' or model.save")
        p.add_argument("--data", metavar="DIR", default=None,
                       help="directory with MNIST-format IDX files (t10k-images-idx3-ubyte"
                            + (", t10k-labels-idx1-ubyte" if name == "evaluate" else "")
                            + ", raw or .gz)")
        p.add_argument("--batch-size", type=_positive_int, default=256,
                       help="inference batch size (256)")
        _add_backend_options(p)
        if name == "predict":
            p.add_argument("--limit", type=_positive_int, default=20,
                           help="predictions printed (20)")
            p.add_argument("--output", metavar="FILE.csv", default=None,
                           help="write every prediction (index,label,probability) to this CSV")
        p.set_defaults(run=function)

    p = commands.add_parser(
        "bench", parents=[debug], help="native kernels against NumPy (and PyTorch)",
        description="Median times of the hot kernels and a LeNet-5 training step on the NumPy "
                    "and native backends (and PyTorch when importable), with their ratios.")
    p.add_argument("--threads", type=_thread_list, default=None,
                   help="thread counts to sweep, e.g. 1,2 (default: the current count)")
    p.add_argument("--quick", action="store_true", help="small sizes and 3 repeats")
    p.add_argument("--repeats", type=_positive_int, default=None,
                   help="timed runs per figure (3 quick, else 10)")
    p.set_defaults(run=bench)

    from .plots import FIGURES
    p = commands.add_parser(
        "plot", parents=[debug], help="draw a figure to a PNG (needs matplotlib)",
        description="Draw one of retrograd.plots' figures to a PNG.  'history' draws the "
                    "training curves of a run saved by 'retrograd train --save RUN.npz': "
                    "pass --model RUN.npz (its record RUN.json is read) or --history RUN.json.")
    p.add_argument("figure", choices=[*FIGURES, "history"])
    p.add_argument("--output", metavar="PATH", default=None,
                   help="the PNG to write (default: <figure>.png)")
    p.add_argument("--model", metavar="RUN.npz", default=None,
                   help="history: a run saved by 'retrograd train --save'")
    p.add_argument("--history", metavar="RUN.json", default=None,
                   help="history: the run record written beside it")
    p.set_defaults(run=plot)
    return parser


def _message(exc):
    """The exception as one line."""
    if isinstance(exc, OSError) and exc.filename is not None:
        text = f"{exc.strerror or exc}: {exc.filename!r}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main(argv=None):
    """Entry point of ``python -m retrograd`` and of the ``retrograd`` script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (CommandError, ValueError, TypeError, RuntimeError, OSError) as exc:
        if args.debug:
            raise
        print(f"retrograd {args.command}: error: {_message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"retrograd {args.command}: interrupted", file=sys.stderr)
        return 130
