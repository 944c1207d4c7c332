"""Sequential model, training loop, History and callbacks, save / load_model
(API.md, "Model").

Files written by ``save`` are one ``.npz``: an ``architecture`` entry holding
JSON (format, version, and each layer's class name and ``get_config()``) and
one entry per parameter array, ``layer<i>_param<j>``.  ``load_model`` reads it
with ``allow_pickle=False`` and builds layers only from classes exported by
``retrograd.layers``, so a file can never make it run code.
"""
import contextlib
import json
import os
import tempfile
import time
import zipfile

import numpy as np

from . import layers as _layers
from . import metrics as _metrics
from ._validation import check_positive_int, fail

FORMAT = "retrograd.Sequential"
FORMAT_VERSION = 1


class Callback:
    """Base of training callbacks.  ``fit`` calls ``set_model(model)`` once,
    ``on_epoch_end(epoch, logs)`` after each epoch (epoch counts from 0, logs
    holds that epoch's "loss", metrics and "val_..." values), and
    ``on_train_end(logs)`` with the last epoch's logs.  Override what you need.
    """

    model = None

    def set_model(self, model):
        self.model = model

    def on_epoch_end(self, epoch, logs):
        """Called after each epoch; the base does nothing."""

    def on_train_end(self, logs):
        """Called once when training ends; the base does nothing."""


class History(Callback):
    """What ``fit`` returns: ``history`` maps "loss", each metric and, with
    validation data, "val_loss" / "val_<metric>" to one value per epoch;
    ``epoch`` lists the epoch numbers (from 0)."""

    def __init__(self):
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)


class Sequential:
    """A stack of layers applied in order: y = f_L(... f_2(f_1(x))).

    Backward runs the chain rule in reverse: each layer turns dL/d(its output)
    into dL/d(its input) and fills its parameter gradients, so
    dL/dx = J_1^T J_2^T ... J_L^T dL/dy.

    ``params`` / ``grads`` list one group per layer that has parameters, holding
    the layers' own arrays, so ``optimizer.step(model.params, model.grads)``
    updates the layers in place.

    Shapes: whatever the first layer takes to whatever the last layer gives.

    Example:
        >>> model = Sequential([Dense(64, 128), ReLU(), Dense(128, 10)])
        >>> model.compile(SparseCategoricalCrossEntropy(from_logits=True), SGD(0.1))
    """

    def __init__(self, layers):
        if not isinstance(layers, (list, tuple)):
            fail("Sequential", "a list of layers", type(layers).__name__, TypeError)
        if not layers:
            fail("Sequential", "at least one layer", "an empty list")
        for i, layer in enumerate(layers):
            if not isinstance(layer, _layers.Layer):
                fail("Sequential", f"a Layer at position {i}", type(layer).__name__, TypeError)
        self.layers = list(layers)
        self.loss = None
        self.optimizer = None
        self.metrics = {}

    # ---- forward / backward ----------------------------------------------------------------
    def forward(self, x):
        """The output of the last layer for input ``x``."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    __call__ = forward

    def backward(self, grad):
        """Back-propagate dL/dy through every layer; returns dL/dx and leaves each
        layer's parameter gradients in ``model.grads``."""
        for layer in reversed(self.layers):
            grad, _ = layer.backward(grad)
        return grad

    @property
    def params(self):
        return [layer.params for layer in self.layers if layer.params]

    @property
    def grads(self):
        return [layer.grads for layer in self.layers if layer.params]

    def train(self):
        """Training mode for every layer (Dropout drops, RReLU draws slopes...)."""
        for layer in self.layers:
            layer.training = True
        return self

    def eval(self):
        """Inference mode for every layer."""
        for layer in self.layers:
            layer.training = False
        return self

    @contextlib.contextmanager
    def _mode(self, training):
        """Set every layer's mode for a block, then give each its previous mode back."""
        previous = [layer.training for layer in self.layers]
        for layer in self.layers:
            layer.training = training
        try:
            yield
        finally:
            for layer, mode in zip(self.layers, previous):
                layer.training = mode

    # ---- training ----------------------------------------------------------------------------
    def compile(self, loss, optimizer, metrics=("accuracy",)):
        """Choose the loss (``forward(y_pred, y_true) -> float`` and
        ``backward(y_pred, y_true) -> dL/dy_pred``), the optimizer (``step(params,
        grads)``) and the metrics reported by fit / evaluate (names or callables
        ``f(y_pred, y_true) -> float``)."""
        if not (callable(getattr(loss, "forward", None)) and callable(getattr(loss, "backward",
                                                                              None))):
            fail("Sequential.compile", "a loss with forward and backward methods",
                 type(loss).__name__, TypeError)
        if not callable(getattr(optimizer, "step", None)):
            fail("Sequential.compile", "an optimizer with a step method",
                 type(optimizer).__name__, TypeError)
        if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
            fail("Sequential.compile", "metrics as a list or tuple", metrics, TypeError)
        resolved = dict(_metrics.get(metric) for metric in metrics)
        if "loss" in resolved:
            fail("Sequential.compile", "metric names other than 'loss'", "loss")
        self.loss, self.optimizer, self.metrics = loss, optimizer, resolved
        return self

    def _require_compiled(self, owner):
        if self.loss is None or self.optimizer is None:
            fail(owner, "a compiled model (call model.compile(loss, optimizer) first)",
                 "an uncompiled model", RuntimeError)

    def _train_batch(self, x, y):
        y_pred = self.forward(x)
        loss = float(self.loss.forward(y_pred, y))
        self.backward(self.loss.backward(y_pred, y))
        self.optimizer.step(self.params, self.grads)
        return loss, y_pred

    def train_step(self, x, y):
        """One update on a batch: forward, loss, backward, optimizer step.
        Returns the loss of this forward pass, i.e. before the update."""
        self._require_compiled("Sequential.train_step")
        return self._train_batch(x, y)[0]

    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, shuffle=True, seed=None,
            verbose=1, callbacks=None):
        """Train for ``epochs`` passes over (x, y) in mini-batches.

        Each epoch visits the samples in a new order drawn by
        ``np.random.default_rng(seed)`` (same seed, same run); only the index
        permutation is shuffled, each batch is gathered from it.  The last
        partial batch is used.  The reported loss / metrics are the means over
        the epoch's batches (weighted by batch size) of the values before each
        update; validation values come from ``evaluate`` after the epoch.

        verbose=1 prints one line per epoch; verbose=0 prints nothing.
        Returns a ``History``.
        """
        owner = "Sequential.fit"
        self._require_compiled(owner)
        x, y = _check_xy(x, y, owner)
        epochs = check_positive_int(epochs, owner, "epochs")
        batch_size = check_positive_int(batch_size, owner, "batch_size")
        if verbose not in (0, 1):
            fail(owner, "verbose 0 or 1", verbose)
        if validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) != 2:
                fail(owner, "validation_data as a pair (x_val, y_val)",
                     type(validation_data).__name__, TypeError)
            validation_data = _check_xy(*validation_data, owner, "validation_data")
        callbacks = list(callbacks) if callbacks is not None else []
        for cb in callbacks:
            if not isinstance(cb, Callback):
                fail(owner, "callbacks that are Callback instances", type(cb).__name__,
                     TypeError)
        history = History()
        callbacks = [history] + callbacks
        for cb in callbacks:
            cb.set_model(self)

        n = len(x)
        rng = np.random.default_rng(seed)
        logs = {}
        with self._mode(True):
            for epoch in range(epochs):
                start = time.perf_counter()
                order = rng.permutation(n) if shuffle else np.arange(n)
                totals = dict.fromkeys(["loss", *self.metrics], 0.0)
                for begin in range(0, n, batch_size):
                    batch = order[begin:begin + batch_size]
                    xb, yb = x[batch], y[batch]
                    loss, y_pred = self._train_batch(xb, yb)
                    totals["loss"] += loss * len(batch)
                    for name, metric in self.metrics.items():
                        totals[name] += metric(y_pred, yb) * len(batch)
                logs = {key: value / n for key, value in totals.items()}
                if validation_data is not None:
                    val = self.evaluate(*validation_data)
                    logs.update({f"val_{key}": value for key, value in val.items()})
                seconds = time.perf_counter() - start
                if verbose:
                    values = " - ".join(f"{key}: {value:.4f}" for key, value in logs.items())
                    print(f"Epoch {epoch + 1}/{epochs} - {values} - {seconds:.2f}s", flush=True)
                for cb in callbacks:
                    cb.on_epoch_end(epoch, dict(logs))
        for cb in callbacks:
            cb.on_train_end(dict(logs))
        return history

    # ---- inference ---------------------------------------------------------------------------
    def predict(self, x, batch_size=256):
        """Outputs for ``x`` computed in batches, in inference mode (the previous
        mode of every layer is restored afterwards)."""
        owner = "Sequential.predict"
        batch_size = check_positive_int(batch_size, owner, "batch_size")
        x = np.asarray(x)
        if x.ndim == 0 or len(x) == 0:
            fail(owner, "a non-empty batch of inputs", f"shape {x.shape}")
        with self._mode(False):
            outputs = [self.forward(x[begin:begin + batch_size])
                       for begin in range(0, len(x), batch_size)]
        return np.concatenate(outputs, axis=0)

    def evaluate(self, x, y, batch_size=256):
        """{"loss": ..., <metric>: ...} on (x, y) in inference mode; the loss is the
        compiled loss of all the predictions at once, so batching changes nothing."""
        owner = "Sequential.evaluate"
        self._require_compiled(owner)
        x, y = _check_xy(x, y, owner)
        y_pred = self.predict(x, batch_size)
        result = {"loss": float(self.loss.forward(y_pred, y))}
        result.update({name: float(metric(y_pred, y)) for name, metric in self.metrics.items()})
        return result

    # ---- description -------------------------------------------------------------------------
    def summary(self, input_shape=None):
        """A table of layers with output shapes and parameter counts, and the total.

        Shapes are chained with ``layer.output_shape`` from ``input_shape``
        (without the batch axis), by default the first layer's declared
        ``input_size`` where it has one; unknown shapes show as "?".
        """
        if input_shape is None and getattr(self.layers[0], "input_size", None) is not None:
            input_shape = (self.layers[0].input_size,)
        shape = tuple(input_shape) if input_shape is not None else None
        rows = []
        for i, layer in enumerate(self.layers):
            shape = tuple(layer.output_shape(shape)) if shape is not None else None
            text = "(N, " + ", ".join(map(str, shape)) + ")" if shape is not None else "?"
            count = sum(int(p.size) for p in layer.params)
            rows.append((f"{i}: {layer.name}", text, f"{count:,}"))
        total = sum(int(p.size) for group in self.params for p in group)
        header = ("Layer", "Output shape", "Params")
        widths = [max(len(r[k]) for r in rows + [header]) for k in range(3)]

        def line(row):
            return (f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  "
                    f"{row[2]:>{widths[2]}}").rstrip()

        rule = "=" * (sum(widths) + 4)
        return "\n".join([line(header), rule, *map(line, rows), rule,
                          f"Total params: {total:,}"])

    # ---- files -------------------------------------------------------------------------------
    def save(self, path):
        """Write architecture (JSON) and weights to one .npz file at ``path``
        (exactly that name).  The file is written next to it under a temporary
        name and then renamed over it, so an interrupted save leaves any
        previous file intact."""
        path = os.fspath(path)
        architecture = {
            "format": FORMAT, "version": FORMAT_VERSION,
            "layers": [{"class": layer.name, "config": layer.get_config()}
                       for layer in self.layers],
        }
        arrays = {"architecture": np.array(json.dumps(architecture))}
        for i, layer in enumerate(self.layers):
            for j, param in enumerate(layer.params):
                arrays[f"layer{i}_param{j}"] = param
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                                   suffix=".tmp")
        try:
            # mkstemp creates the file 0600; give it the mode a plain open() would.
            os.chmod(tmp, 0o666 & ~_current_umask())
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def __repr__(self):
        return f"Sequential({self.layers!r})"


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load_model(path):
    """The Sequential model stored by ``model.save(path)``, weights included.

    Raises ValueError for anything that is not such a file: unknown layer
    classes, bad configurations, missing, extra or mis-shaped weight arrays.

    Example:
        >>> model.save("digits.npz")
        >>> model = retrograd.load_model("digits.npz")
    """
    owner = "load_model"
    try:
        archive = np.load(os.fspath(path), allow_pickle=False)
    except (ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{owner}: expected a .npz file written by Sequential.save, "
                         f"got {os.fspath(path)!r} ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        fail(owner, "a .npz archive written by Sequential.save", "a single .npy array")
    with archive:
        if "architecture" not in archive.files:
            fail(owner, "an 'architecture' entry", sorted(archive.files))
        architecture = _parse_architecture(archive["architecture"], owner)
        model = Sequential([_build_layer(spec, i, owner)
                            for i, spec in enumerate(architecture["layers"])])
        expected = {f"layer{i}_param{j}": param for i, layer in enumerate(model.layers)
                    for j, param in enumerate(layer.params)}
        stored = set(archive.files) - {"architecture"}
        if stored != set(expected):
            fail(owner, f"weight arrays {sorted(expected)}", sorted(stored))
        for key, param in expected.items():
            value = archive[key]
            if value.shape != param.shape or value.dtype.kind != "f":
                fail(owner, f"{key} a float array of shape {param.shape}",
                     f"dtype {value.dtype} shape {value.shape}")
            param[...] = value
    return model


def _parse_architecture(entry, owner):
    if entry.dtype.kind != "U" or entry.ndim != 0:
        fail(owner, "the architecture as a JSON string", f"dtype {entry.dtype}")
    try:
        architecture = json.loads(str(entry[()]))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{owner}: expected the architecture as JSON, got invalid JSON "
                         f"({exc})") from None
    if (not isinstance(architecture, dict) or architecture.get("format") != FORMAT
            or not isinstance(architecture.get("layers"), list)):
        fail(owner, f"an architecture of format {FORMAT!r} with a list of layers",
             architecture if not isinstance(architecture, dict) else architecture.get("format"))
    if architecture.get("version") != FORMAT_VERSION:
        fail(owner, f"format version {FORMAT_VERSION}", architecture.get("version"))
    return architecture


def _build_layer(spec, index, owner):
    if (not isinstance(spec, dict) or not isinstance(spec.get("class"), str)
            or not isinstance(spec.get("config"), dict)):
        fail(owner, f"layer {index} as {{'class': name, 'config': {{...}}}}", spec)
    name = spec["class"]
    cls = getattr(_layers, name, None) if name in getattr(_layers, "__all__", ()) else None
    if not (isinstance(cls, type) and issubclass(cls, _layers.Layer)):
        fail(owner, f"layer {index} a layer class of retrograd.layers", name)
    try:
        return cls(**spec["config"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{owner}: expected a valid configuration for layer {index} "
                         f"({name}), got {spec['config']!r} ({exc})") from None


def _check_xy(x, y, owner, name="x and y"):
    """x and y as arrays with the same number of samples (at least one)."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        fail(owner, f"{name} as arrays with a batch axis", f"shapes {x.shape} and {y.shape}")
    if len(x) != len(y):
        fail(owner, f"{name} with the same number of samples", f"{len(x)} and {len(y)}")
    if len(x) == 0:
        fail(owner, f"{name} with at least one sample", "0 samples")
    return x, y
