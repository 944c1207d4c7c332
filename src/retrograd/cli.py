"""The command line: ``python -m retrograd <command> [options]`` (or ``retrograd``).

Commands:
  train   train a model on the bundled digits and report its test accuracy.

Errors are reported as one line on stderr with exit status 2, never a traceback.
"""
import argparse
import math
import sys
import time

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: "retrograd train: error: ..." and exit status 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


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


def _build_mlp(seed):
    """64-128-10 multilayer perceptron with ReLU hidden units, logits out."""
    from .layers import Dense, ReLU
    from .models import Sequential
    return Sequential([Dense(64, 128, seed=seed), ReLU(), Dense(128, 10, seed=seed + 1)])


def _build_cnn(seed):
    """Small convolutional network on 8x8x1 images: two 3x3 convolutions (8, then 16
    filters, "same" size through padding 1), each followed by ReLU and 2x2 max
    pooling (8x8 -> 4x4 -> 2x2), then a 64-unit ReLU layer and 10 logits."""
    from .layers import Conv2D, Dense, Flatten, MaxPooling2D, ReLU
    from .models import Sequential
    return Sequential([Conv2D(1, 8, 3, padding=1, seed=seed), ReLU(), MaxPooling2D(2),
                       Conv2D(8, 16, 3, padding=1, seed=seed + 1), ReLU(), MaxPooling2D(2),
                       Flatten(), Dense(16 * 2 * 2, 64, seed=seed + 2), ReLU(),
                       Dense(64, 10, seed=seed + 3)])


# name -> (builder(seed) -> Sequential, input reshape of one digit image, optimizer class
# name in retrograd.optimizers, its default learning rate)
MODELS = {"mlp": (_build_mlp, (64,), "SGD", 0.1),
          "cnn": (_build_cnn, (8, 8, 1), "Adam", 1e-3)}
DEFAULT_MODEL = "cnn"


def _digits_splits():
    """Train / validation / test parts of the digits: an 80/20 stratified
    train/test split with seed 0, then 10% of the training part held out
    (stratified, seed 0) for the per-epoch validation accuracy, so the test
    part is seen only once, at the end."""
    from .datasets import load_digits, train_test_split
    x, y = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(x, y, 0.2, stratify=y, seed=0)
    x_fit, x_val, y_fit, y_val = train_test_split(x_train, y_train, 0.1, stratify=y_train,
                                                  seed=0)
    return (x_fit, y_fit), (x_val, y_val), (x_test, y_test)


def train(args):
    """The ``train`` command: runs in the chosen backend (a context, so calling
    ``main`` from Python leaves the process-wide default alone)."""
    from . import _config
    with _config.use_backend(args.backend or _config.get_backend()):
        return _train(args)


def _train(args):
    from . import _config, optimizers
    from .losses import SparseCategoricalCrossEntropy
    from .models import Callback

    if args.threads is not None:
        _config.set_num_threads(args.threads)
    build, input_shape, optimizer_name, default_lr = MODELS[args.model]
    lr = default_lr if args.lr is None else args.lr
    splits = [(x.reshape((len(x),) + input_shape), y) for x, y in _digits_splits()]
    (x_fit, y_fit), validation, (x_test, y_test) = splits

    model = build(args.seed)
    model.compile(SparseCategoricalCrossEntropy(from_logits=True),
                  getattr(optimizers, optimizer_name)(lr))
    say = (lambda *a, **k: None) if args.quiet else print
    say(f"backend: {_config.get_backend()}, threads: {_config.get_num_threads()}")
    say(f"model: {args.model}, {len(x_fit)} training / {len(validation[0])} validation / "
        f"{len(x_test)} test samples, epochs {args.epochs}, batch size {args.batch_size}, "
        f"{optimizer_name} lr {lr}, seed {args.seed}")

    class _Report(Callback):
        def on_epoch_end(self, epoch, logs):
            say(f"epoch {epoch + 1:>3}/{args.epochs}  loss {logs['loss']:.4f}  "
                f"accuracy {logs['accuracy']:.4f}  val_accuracy {logs['val_accuracy']:.4f}",
                flush=True)

    start = time.perf_counter()
    model.fit(x_fit, y_fit, epochs=args.epochs, batch_size=args.batch_size,
              validation_data=validation, seed=args.seed, verbose=0, callbacks=[_Report()])
    per_epoch = (time.perf_counter() - start) / args.epochs
    test = model.evaluate(x_test, y_test)
    print(f"test accuracy: {test['accuracy']:.4f}  (loss {test['loss']:.4f})")
    print(f"time per epoch: {per_epoch:.3f} s  (backend {_config.get_backend()}, "
          f"{_config.get_num_threads()} threads)")
    return 0


def build_parser():
    from ._config import BACKENDS
    parser = _Parser(prog="retrograd", description="retrograd: deep learning for multicore CPUs.")
    commands = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser)
    commands.required = True
    p = commands.add_parser("train", help="train a model on the bundled 8x8 digits",
                            description="Train on the 8x8 digits (80/20 stratified split, "
                                        "seed 0) and report the test accuracy.")
    p.add_argument("--model", choices=sorted(MODELS), default=DEFAULT_MODEL,
                   help="architecture: cnn (default; two 3x3 convolutions with max pooling, "
                        "then 64-10 dense, trained with Adam) or mlp (64-128-10 with ReLU, "
                        "trained with SGD)")
    p.add_argument("--epochs", type=_positive_int, default=50, help="passes over the data (50)")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="mini-batch size (32)")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default: 0.001 for cnn's Adam, 0.1 for mlp's SGD)")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="kernel backend (default: RETROGRAD_BACKEND, else native when built)")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="threads of the native kernels (default: RETROGRAD_NUM_THREADS or "
                        "OpenMP's default)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the weights and the shuffling (0)")
    p.add_argument("--quiet", action="store_true",
                   help="print only the test accuracy and the time per epoch")
    p.set_defaults(run=train)
    return parser


def main(argv=None):
    """Entry point of ``python -m retrograd`` and of the ``retrograd`` script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, RuntimeError, OSError) as exc:
        print(f"retrograd {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"retrograd {args.command}: interrupted", file=sys.stderr)
        return 130
