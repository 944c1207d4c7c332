"""Sequential model, training loop, save / load_model (API.md, "Model").

Files written by ``save`` are one ``.npz``: an ``architecture`` entry holding
JSON and one entry per array.  The JSON has the format name, its version, each
layer's class name and ``get_config()`` and, when saved with the optimizer, a
"training" section: the loss (class name and config), the built-in metric
names and the optimizer (class name, config, step count t and its running
numbers).  Arrays: ``layer<i>_param<j>`` for the weights and
``optimizer_<slot>_<i>_<j>`` for the optimizer state of array j of parameter
group i.  ``load_model`` reads it with zipfile and NumPy's .npy reader
(``allow_pickle=False``, every header checked before its data is read) and
builds objects only from classes exported by ``retrograd.layers``,
``retrograd.losses`` and ``retrograd.optimizers``, so a file can never make it
run code.

Format versions: 1 has no training section; 2 adds it.  Older versions stay
readable; a newer one is refused with a message saying so.
"""
import contextlib
import json
import math
import os
import secrets
import time
import zipfile
from collections import Counter

import numpy as np
from tqdm import tqdm

from . import layers as _layers
from . import losses as _losses
from . import metrics as _metrics
from . import optimizers as _optimizers
from ._validation import as_array, as_real_array, check_positive_int, fail
from .callbacks import Callback, History
from .datasets.batches import batches, check_seed

FORMAT = "retrograd.Sequential"
FORMAT_VERSION = 2


class Sequential:
    """A stack of layers applied in order: y = f_L(... f_2(f_1(x))).

    Backward runs the chain rule in reverse: each layer turns dL/d(its output)
    into dL/d(its input) and fills its parameter gradients, so
    dL/dx = J_1^T J_2^T ... J_L^T dL/dy.

    ``params`` / ``grads`` list one group per layer that has parameters, holding
    the layers' own arrays, so ``optimizer.step(model.params, model.grads)``
    updates the layers in place.

    Shapes: whatever the first layer takes to whatever the last layer gives.
    ``fit``, ``train_step``, ``evaluate`` and ``predict`` take x as a float array of
    any width or a list of numbers (bool and integer arrays are refused with a
    TypeError, as the layers refuse them) and y as numbers (labels may be
    integers); x and y with different sample counts, or no samples, raise a
    ValueError naming the method.

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
        # Set by a callback to end fit after the current batch.
        self.stop_training = False

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
        grad = self.loss.backward(y_pred, y)
        # the parameter gradients only: the first layer skips dL/dx, which nothing uses
        for depth, layer in reversed(list(enumerate(self.layers))):
            grad, _ = layer._backward(grad, input_grad=depth > 0)
        self.optimizer.step(self.params, self.grads)
        return loss, y_pred

    def train_step(self, x, y):
        """One update on a batch: forward, loss, backward, optimizer step.
        Returns the loss of this forward pass, i.e. before the update.
        x and y are checked as in ``fit``."""
        owner = "Sequential.train_step"
        self._require_compiled(owner)
        return self._train_batch(*_check_xy(x, y, owner))[0]

    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, shuffle=True, seed=None,
            verbose=1, callbacks=None, initial_epoch=0, augment=None):
        """Train for epochs ``initial_epoch`` .. ``epochs - 1`` over (x, y) in mini-batches.

        Epoch e visits the samples in the order ``datasets.batches`` draws from
        ``np.random.default_rng([seed, e])``: it depends on (seed, e) only, so
        training epochs 0..k-1, saving with the optimizer, loading and fitting
        with ``initial_epoch=k`` and the same seed repeats the uninterrupted
        run exactly (for models whose layers draw no random numbers of their
        own: Dropout, RReLU and NoisyReLU generators restart from their seed).
        Only the index permutation is shuffled; each batch is gathered from it.
        The last partial batch is used.

        ``augment(x_batch, epoch=e, batch=b)``, e.g. a
        ``datasets.ImageAugmenter``, transforms each training batch; the
        validation data is never augmented.

        The reported loss / metrics are the means over the epoch's batches
        (weighted by batch size) of the values before each update; validation
        values come from ``evaluate`` after the epoch.  A callback that sets
        ``model.stop_training = True`` ends training after the current batch
        (the epoch's logs then cover the batches done) or epoch.

        verbose=1 draws one tqdm progress bar per epoch on stderr (batches,
        running loss and metrics, images/s; the validation values are added at
        the end of the epoch and the bar is left on screen); verbose=0 shows
        nothing.  Returns a ``History``.

        Example:
            >>> history = model.fit(x, y, epochs=10, validation_data=(xv, yv), seed=0)
            >>> history.history["val_loss"][-1]
        """
        owner = "Sequential.fit"
        self._require_compiled(owner)
        x, y = _check_xy(x, y, owner)
        epochs = check_positive_int(epochs, owner, "epochs")
        batch_size = check_positive_int(batch_size, owner, "batch_size")
        seed = check_seed(seed, owner)
        if verbose not in (0, 1):
            fail(owner, "verbose 0 or 1", verbose)
        if (isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer))
                or not 0 <= initial_epoch < epochs):
            fail(owner, f"initial_epoch an integer in [0, epochs={epochs})", initial_epoch)
        if augment is not None and not callable(augment):
            fail(owner, "augment None or a callable (x_batch, epoch, batch) -> x_batch",
                 type(augment).__name__, TypeError)
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
        names = ["loss", *self.metrics]
        if validation_data is not None:
            names += [f"val_{name}" for name in names]
        params = {"epochs": epochs, "initial_epoch": int(initial_epoch),
                  "batch_size": batch_size, "steps": math.ceil(len(x) / batch_size),
                  "verbose": verbose, "metrics": names}
        for cb in callbacks:
            cb.set_model(self)
            cb.set_params(params)

        self.stop_training = False
        logs = {}
        with self._mode(True):
            for cb in callbacks:
                cb.on_train_begin()
            for epoch in range(int(initial_epoch), epochs):
                for cb in callbacks:
                    cb.on_epoch_begin(epoch)
                bar = tqdm(total=params["steps"], desc=f"Epoch {epoch + 1}/{epochs}",
                           unit="batch", leave=True, disable=not verbose)
                try:
                    logs, rate = self._fit_epoch(x, y, epoch, batch_size, shuffle, seed,
                                                 augment, callbacks, bar)
                    if validation_data is not None:
                        val = self.evaluate(*validation_data)
                        logs.update({f"val_{key}": value for key, value in val.items()})
                    bar.set_postfix(_postfix(logs, rate))
                finally:
                    bar.close()
                for cb in callbacks:
                    cb.on_epoch_end(epoch, dict(logs))
                if self.stop_training:
                    break
        for cb in callbacks:
            cb.on_train_end(dict(logs))
        return history

    def _fit_epoch(self, x, y, epoch, batch_size, shuffle, seed, augment, callbacks, bar):
        """One pass of training; returns the epoch's logs (means over the samples seen)
        and the training speed in samples per second."""
        totals = dict.fromkeys(["loss", *self.metrics], 0.0)
        seen = 0
        start = time.perf_counter()
        for batch, (xb, yb) in enumerate(batches(x, y, batch_size, shuffle, seed, epoch)):
            if augment is not None:
                xb = augment(xb, epoch=epoch, batch=batch)
            loss, y_pred = self._train_batch(xb, yb)
            batch_logs = {"batch": batch, "size": len(yb), "loss": loss}
            batch_logs.update((name, float(metric(y_pred, yb)))
                              for name, metric in self.metrics.items())
            seen += len(yb)
            for name in totals:
                totals[name] += batch_logs[name] * len(yb)
            for cb in callbacks:
                cb.on_batch_end(batch, dict(batch_logs))
            if not bar.disable:
                running = {key: value / seen for key, value in totals.items()}
                bar.set_postfix(_postfix(running, seen / _elapsed(start)), refresh=False)
                bar.update()
            if self.stop_training:
                break
        return {key: value / seen for key, value in totals.items()}, seen / _elapsed(start)

    # ---- inference ---------------------------------------------------------------------------
    def predict(self, x, batch_size=256):
        """Outputs for ``x`` computed in batches, in inference mode (the previous
        mode of every layer is restored afterwards)."""
        owner = "Sequential.predict"
        batch_size = check_positive_int(batch_size, owner, "batch_size")
        x = as_real_array(x, owner, "x")
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

    # ---- weights and files -------------------------------------------------------------------
    def get_weights(self):
        """Copies of every parameter array, in ``params`` order, as one flat list."""
        return [p.copy() for group in self.params for p in group]

    def set_weights(self, weights):
        """Copy ``weights`` (a flat list as ``get_weights`` returns) into the
        parameters; shapes are checked before anything is written."""
        owner = "Sequential.set_weights"
        targets = [p for group in self.params for p in group]
        if not isinstance(weights, (list, tuple)) or len(weights) != len(targets):
            fail(owner, f"a list of {len(targets)} arrays",
                 f"{len(weights)} arrays" if isinstance(weights, (list, tuple))
                 else type(weights).__name__, TypeError)
        arrays = [np.asarray(w) for w in weights]
        for k, (w, p) in enumerate(zip(arrays, targets)):
            if w.shape != p.shape or w.dtype.kind != "f":
                fail(owner, f"weights[{k}] a float array of shape {p.shape}",
                     f"dtype {w.dtype} shape {w.shape}")
        for w, p in zip(arrays, targets):
            p[...] = w

    def save(self, path, include_optimizer=False):
        """Write architecture (JSON) and weights to one .npz file at ``path``
        (exactly that name).  With ``include_optimizer`` the compiled loss, the
        built-in metric names and the optimizer (config, step count and state
        arrays) are stored too, so ``load_model`` returns a compiled model that
        continues training exactly where this one stands (custom metric
        callables are not stored: compile the loaded model again to add them).

        The file is written next to ``path`` under a hidden temporary name,
        flushed to disk and then renamed over it, so a save that fails (a full
        disk: an OSError naming ``path``) or is interrupted leaves any previous
        file intact.  A process killed mid-save may leave the hidden temporary
        file (".<name>.<random>.tmp"), which load_model never reads.

        Example:
            >>> model.save("checkpoint.npz", include_optimizer=True)
            >>> model = retrograd.load_model("checkpoint.npz")
        """
        path = os.fspath(path)
        architecture = {
            "format": FORMAT, "version": FORMAT_VERSION,
            "layers": [{"class": layer.name, "config": layer.get_config()}
                       for layer in self.layers],
        }
        arrays = {}
        for i, layer in enumerate(self.layers):
            for j, param in enumerate(layer.params):
                arrays[f"layer{i}_param{j}"] = param
        if include_optimizer:
            architecture["training"], state = self._training_state()
            arrays.update(state)
        arrays["architecture"] = np.array(json.dumps(architecture))
        fd, tmp = _create_temporary(path)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            if isinstance(exc, OSError) and exc.filename is None:
                # A full disk fails a write to an open file, whose error names no file.
                raise _save_error(exc, path) from exc
            raise

    def _training_state(self):
        """The "training" JSON section and the optimizer's state arrays by file key."""
        owner = "Sequential.save"
        self._require_compiled(owner)
        for what, obj, module, base in (("loss", self.loss, _losses, _losses.Loss),
                                        ("optimizer", self.optimizer, _optimizers,
                                         _optimizers.Optimizer)):
            if not (isinstance(obj, base) and _exported(module, type(obj).__name__) is type(obj)):
                fail(owner, f"a {what} class of retrograd.{module.__name__.split('.')[-1]} to "
                     "save it (or include_optimizer=False)", type(obj).__name__, TypeError)
        state = self.optimizer.state_dict()
        slots = state.pop("state")
        arrays = {f"optimizer_{slot}_{i}_{j}": a for slot, groups in slots.items()
                  for i, group in enumerate(groups) for j, a in enumerate(group)}
        # What remains of the state_dict besides these is the subclass's running numbers.
        optimizer = {"class_name": state.pop("class_name"), "config": state.pop("config"),
                     "t": state.pop("t"), "slots": list(slots), "scalars": state}
        training = {
            "loss": {"class_name": type(self.loss).__name__, "config": self.loss.get_config()},
            "metrics": [name for name, fn in self.metrics.items()
                        if _metrics.METRICS.get(name) is fn],
            "optimizer": optimizer,
        }
        return training, arrays

    def __repr__(self):
        return f"Sequential({self.layers!r})"


def _elapsed(start):
    # Never zero: a coarse clock can report no time for a tiny first batch.
    return max(time.perf_counter() - start, 1e-9)


def _postfix(logs, rate):
    """The progress bar's text after the counter: values, then the speed."""
    return {**{key: f"{value:.4f}" for key, value in logs.items()}, "images/s": f"{rate:.0f}"}


def _create_temporary(path):
    """(fd, name) of a new hidden file beside ``path``.  It is created as open()
    creates files, mode 0o666 less the umask, so the renamed checkpoint gets the
    usual mode; reading the umask instead would change it for every thread."""
    directory, base = os.path.split(os.path.abspath(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        name = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(name, flags, 0o666), name
        except FileExistsError:
            continue


def _save_error(exc, path):
    """The OSError of a failed write, restated to name the file being saved."""
    message = (f"Sequential.save: could not write {path!r} ({exc.strerror or exc}); a previous "
               "file of that name is unchanged")
    return OSError(exc.errno, message) if exc.errno is not None else OSError(message)


def load_model(path):
    """The Sequential model stored by ``model.save(path)``, weights included;
    compiled, with its optimizer's state, when it was saved with
    ``include_optimizer=True`` (then ``fit(..., initial_epoch=k)`` continues
    the saved run).  Files of every earlier format version load too.

    Raises ValueError, naming the file, for anything that is not such a file:
    truncated, damaged or random bytes, foreign files or archive members, an
    entry given twice, pickled (object) arrays, a format version newer than
    this retrograd reads, unknown layer / loss / optimizer classes, bad
    configurations, missing, extra or mis-shaped arrays.  Each entry's .npy
    header (dtype and shape) is checked before its data is read, and the data
    are CRC-checked.  OSError (no such file, no permission) passes through.

    Example:
        >>> model.save("digits.npz")
        >>> model = retrograd.load_model("digits.npz")
    """
    path = os.fspath(path)
    try:
        return _load(path, "load_model")
    except ValueError as exc:
        raise ValueError(f"{exc} (file {path!r})") from None


# A zip archive starts with its first entry, or an empty one with its end record.
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
# An architecture is kilobytes of JSON: the cap refuses a crafted entry (compressed, or
# claiming gigabytes) before it is read.
_MAX_ARCHITECTURE_CHARS = 2**24


def _load(path, owner):
    """load_model without the file name in its errors."""
    with open(path, "rb") as f:
        magic = f.read(6)
        if magic == b"\x93NUMPY":
            fail(owner, "a .npz archive written by Sequential.save", "a single .npy array")
        if not magic.startswith(_ZIP_MAGIC):
            fail(owner, "a .npz file written by Sequential.save (a zip archive)",
                 f"a file starting with {magic!r}")
        f.seek(0)
        try:
            archive = zipfile.ZipFile(f)
        # Damage surfaces as BadZipFile, NotImplementedError (an unknown zip version)...
        except Exception as exc:
            raise ValueError(f"{owner}: expected a .npz file written by Sequential.save, got a "
                             f"damaged zip archive ({type(exc).__name__}: {exc})") from None
        with archive:
            return _load_archive(archive, owner)


def _load_archive(archive, owner):
    entries = _npy_entries(archive, owner)
    if "architecture" not in entries:
        fail(owner, "an 'architecture' entry", sorted(entries))
    architecture = _parse_architecture(
        _read_entry(archive, entries["architecture"], "architecture", _check_architecture, owner),
        owner)
    model = Sequential([_build_layer(spec, i, owner)
                        for i, spec in enumerate(architecture["layers"])])
    expected = {f"layer{i}_param{j}": param for i, layer in enumerate(model.layers)
                for j, param in enumerate(layer.params)}
    training = architecture.get("training")
    if training is not None:
        slots = _optimizer_slots(training, owner)
        expected.update({f"optimizer_{slot}_{i}_{j}": param for slot in slots
                         for i, group in enumerate(model.params)
                         for j, param in enumerate(group)})
    stored = set(entries) - {"architecture"}
    if stored != set(expected):
        fail(owner, f"arrays {sorted(expected)}", sorted(stored))
    values = {key: _read_entry(archive, entries[key], key, _array_check(key, param), owner)
              for key, param in expected.items()}
    for i, layer in enumerate(model.layers):
        for j, param in enumerate(layer.params):
            param[...] = values[f"layer{i}_param{j}"]
    if training is not None:
        _compile_saved(model, training, slots, values, owner)
    return model


def _npy_entries(archive, owner):
    """{key: ZipInfo} of the archive's "<key>.npy" entries.  Any other entry is
    refused, and so is a name given twice (zip readers differ on which copy they read)."""
    names = [info.filename for info in archive.infolist()]
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        fail(owner, "each entry once", repeated)
    foreign = sorted(name for name in names if not name.endswith(".npy"))
    if foreign:
        fail(owner, "only .npy entries", foreign)
    return {info.filename[:-len(".npy")]: info for info in archive.infolist()}


def _read_entry(archive, info, key, check, owner):
    """The array of one entry.  Its .npy header goes through ``check(dtype, shape,
    owner)``, which raises for a wrong one, before any data is read; the entry must
    hold the array and nothing more, so all its bytes are read and CRC-checked."""
    # zipfile and NumPy report damaged bytes as almost any exception type.
    try:
        with archive.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f".npy format version {version}")
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(f)
    except Exception as exc:
        raise _damaged(key, exc, owner) from None
    check(dtype, shape, owner)
    try:
        with archive.open(info) as f:
            value = np.lib.format.read_array(f, allow_pickle=False)
            if f.read(1):
                raise ValueError("bytes after the array")
    except Exception as exc:
        raise _damaged(key, exc, owner) from None
    return value


def _damaged(key, exc, owner):
    return ValueError(f"{owner}: expected an intact entry {key!r}, got a damaged one "
                      f"({type(exc).__name__}: {exc})")


def _check_architecture(dtype, shape, owner):
    if dtype.kind != "U" or shape != () or dtype.itemsize // 4 > _MAX_ARCHITECTURE_CHARS:
        fail(owner, f"the architecture as a JSON string of at most "
             f"{_MAX_ARCHITECTURE_CHARS} characters", f"dtype {dtype} shape {shape}")


def _array_check(key, param):
    """The header check of a stored array: the parameter's shape, any float dtype for
    weights, exactly the parameter's dtype for optimizer state."""
    exact = key.startswith("optimizer_")

    def check(dtype, shape, owner):
        if shape != param.shape or (dtype != param.dtype if exact else dtype.kind != "f"):
            fail(owner, f"{key} a {param.dtype if exact else 'float'} array of shape "
                 f"{param.shape}", f"dtype {dtype} shape {shape}")
    return check


def _parse_architecture(entry, owner):
    try:
        architecture = json.loads(str(entry[()]))
    # Deep nesting exhausts the decoder's recursion limit.
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{owner}: expected the architecture as JSON, got invalid JSON "
                         f"({exc})") from None
    if (not isinstance(architecture, dict) or architecture.get("format") != FORMAT
            or not isinstance(architecture.get("layers"), list)):
        fail(owner, f"an architecture of format {FORMAT!r} with a list of layers",
             architecture if not isinstance(architecture, dict) else architecture.get("format"))
    version = architecture.get("version")
    is_int = isinstance(version, int) and not isinstance(version, bool)
    if is_int and version > FORMAT_VERSION:
        raise ValueError(f"{owner}: expected format version {FORMAT_VERSION} or older, got "
                         f"{version!r}: the file was written by a newer retrograd; upgrade "
                         "retrograd to load it")
    if not is_int or version < 1:
        fail(owner, f"format version 1 to {FORMAT_VERSION}", version)
    if version < 2 and "training" in architecture:
        fail(owner, "no training section in a version 1 file", "a training section")
    return architecture


def _build_layer(spec, index, owner):
    if (not isinstance(spec, dict) or not isinstance(spec.get("class"), str)
            or not isinstance(spec.get("config"), dict)):
        fail(owner, f"layer {index} as {{'class': name, 'config': {{...}}}}", spec)
    name = spec["class"]
    cls = _exported(_layers, name)
    if not (isinstance(cls, type) and issubclass(cls, _layers.Layer)):
        fail(owner, f"layer {index} a layer class of retrograd.layers", name)
    try:
        return cls(**spec["config"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{owner}: expected a valid configuration for layer {index} "
                         f"({name}), got {spec['config']!r} ({exc})") from None


def _exported(module, name):
    """The object ``module`` exports under ``name`` (listed in its __all__), else None:
    files name classes, and only these lists decide what a name may build."""
    return getattr(module, name, None) if name in getattr(module, "__all__", ()) else None


def _optimizer_slots(training, owner):
    """The optimizer state names of a training section, after checking its layout."""
    shape = ("{'loss': {'class_name', 'config'}, 'metrics': [...], 'optimizer': "
             "{'class_name', 'config', 't', 'slots', 'scalars'}}")
    if (not isinstance(training, dict) or set(training) != {"loss", "metrics", "optimizer"}
            or not isinstance(training["loss"], dict)
            or set(training["loss"]) != {"class_name", "config"}
            or not isinstance(training["metrics"], list)
            or not isinstance(training["optimizer"], dict)
            or set(training["optimizer"]) != {"class_name", "config", "t", "slots", "scalars"}
            or not isinstance(training["optimizer"]["scalars"], dict)):
        fail(owner, f"a training section {shape}", training)
    slots = training["optimizer"]["slots"]
    if not isinstance(slots, list) or not all(isinstance(s, str) for s in slots):
        fail(owner, "the optimizer's slots as a list of names", slots)
    return slots


def _compile_saved(model, training, slots, values, owner):
    """Compile ``model`` with the saved loss, metrics and optimizer state."""
    loss_spec, opt_spec = training["loss"], training["optimizer"]
    loss_cls = _exported(_losses, loss_spec["class_name"])
    if not (isinstance(loss_cls, type) and issubclass(loss_cls, _losses.Loss)):
        fail(owner, "a loss class of retrograd.losses", loss_spec["class_name"])
    opt_cls = _exported(_optimizers, opt_spec["class_name"])
    if not (isinstance(opt_cls, type) and issubclass(opt_cls, _optimizers.Optimizer)):
        fail(owner, "an optimizer class of retrograd.optimizers", opt_spec["class_name"])
    state = {slot: [[values[f"optimizer_{slot}_{i}_{j}"] for j in range(len(group))]
                    for i, group in enumerate(model.params)] for slot in slots}
    try:
        loss = loss_cls(**loss_spec["config"])
        # Built with its defaults, then load_state_dict validates and sets the saved
        # hyper-parameters, step count, running numbers and state arrays.
        optimizer = opt_cls()
        optimizer.load_state_dict({"class_name": opt_spec["class_name"], "t": opt_spec["t"],
                                   "config": opt_spec["config"], "state": state,
                                   **opt_spec["scalars"]})
        model.compile(loss, optimizer, metrics=tuple(training["metrics"]))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{owner}: expected a valid training configuration, got "
                         f"{training!r} ({exc})") from None


def _check_xy(x, y, owner, name="x and y"):
    """x and y as arrays with the same number of samples (at least one): x floating
    point by the layers' input policy (a list of numbers converted, an integer or
    bool array refused), y numeric (labels may be integers)."""
    x, y = as_real_array(x, owner, "x"), as_array(y, owner, "y")
    if y.dtype.kind not in "biuf":
        fail(owner, "numeric y", y.dtype, TypeError)
    if x.ndim == 0 or y.ndim == 0:
        fail(owner, f"{name} as arrays with a batch axis", f"shapes {x.shape} and {y.shape}")
    if len(x) != len(y):
        fail(owner, f"{name} with the same number of samples", f"{len(x)} and {len(y)}")
    if len(x) == 0:
        fail(owner, f"{name} with at least one sample", "0 samples")
    return x, y
