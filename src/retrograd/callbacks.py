"""Training callbacks: hooks that ``Sequential.fit`` calls as training goes
(the Keras protocol), and the ones users ask for most: History,
ModelCheckpoint, EarlyStopping, TerminateOnNaN and CSVLogger.

Order of the calls in ``fit``::

    set_model(model); set_params(params)
    on_train_begin(logs)
    for each epoch:  on_epoch_begin(epoch, logs)
                     for each batch: on_batch_end(batch, logs)
                     on_epoch_end(epoch, logs)
    on_train_end(logs)

Epochs count from 0 (from ``initial_epoch`` when a run is resumed) and batches
from 0 within each epoch.  A callback stops training by setting
``self.model.stop_training = True``: ``fit`` checks it after every batch and
after every epoch.
"""
import csv
import math
import os
import sys

import numpy as np
from tqdm import tqdm

from ._validation import check_finite, fail

__all__ = ["Callback", "History", "ModelCheckpoint", "EarlyStopping", "TerminateOnNaN",
           "CSVLogger"]


class Callback:
    """Base of training callbacks; every hook does nothing, override what you need.

    ``fit`` gives each callback ``self.model`` (the model being trained) and
    ``self.params``: {"epochs", "initial_epoch", "batch_size", "steps" (batches
    per epoch), "verbose", "metrics" (the names the epoch logs will hold:
    "loss", each metric, and "val_..." with validation data)}.

    Logs: ``on_batch_end`` gets {"batch", "size", "loss", <metric>...} of that
    batch (values before the update); ``on_epoch_end`` and ``on_train_end`` get
    the epoch's means and validation values, as History records them.

    Example:
        >>> class Printer(Callback):
        ...     def on_epoch_end(self, epoch, logs=None): print(epoch, logs["loss"])
    """

    model = None
    params = None

    def set_model(self, model):
        """Called by fit before training: the model this callback watches."""
        self.model = model

    def set_params(self, params):
        """Called by fit before training: epochs, steps per epoch, verbosity..."""
        self.params = params

    def on_train_begin(self, logs=None):
        """Called once before the first epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of each epoch."""

    def on_batch_end(self, batch, logs=None):
        """Called after each optimizer step."""

    def on_epoch_end(self, epoch, logs=None):
        """Called after each epoch, once the validation values are in ``logs``."""

    def on_train_end(self, logs=None):
        """Called once when training ends (all epochs done or stopped early)."""


class History(Callback):
    """What ``fit`` returns: ``history`` maps "loss", each metric and, with
    validation data, "val_loss" / "val_<metric>" to one value per epoch;
    ``epoch`` lists the epoch numbers (from 0, or from ``initial_epoch``).

    Example:
        >>> history = model.fit(x, y, epochs=3, verbose=0)
        >>> len(history.history["loss"]), history.epoch
        (3, [0, 1, 2])
    """

    def __init__(self):
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class _Monitor(Callback):
    """Shared by the callbacks that watch one logged value: the mode and the
    check that the value will be (and is) in the logs."""

    def __init__(self, monitor, mode):
        if not isinstance(monitor, str) or not monitor:
            fail(self.name, "monitor the name of a logged value", monitor, TypeError)
        if mode not in ("auto", "min", "max"):
            fail(self.name, "mode 'auto', 'min' or 'max'", mode)
        self.monitor = monitor
        # As Keras: accuracies are maximised, everything else (losses) minimised.
        self.mode = ("max" if "acc" in monitor else "min") if mode == "auto" else mode

    @property
    def name(self):
        return type(self).__name__

    def on_train_begin(self, logs=None):
        names = (self.params or {}).get("metrics")
        if names is not None and self.monitor not in names:
            self._missing(names)

    def _current(self, logs):
        """The monitored value in ``logs``; a ValueError naming this callback when absent."""
        logs = logs or {}
        if self.monitor not in logs:
            self._missing(sorted(logs))
        return float(logs[self.monitor])

    def _missing(self, names):
        hint = (" (val_ values need validation_data in fit)"
                if self.monitor.startswith("val_") else "")
        fail(self.name, f"monitor one of the logged values {list(names)}{hint}", self.monitor)

    def _improves(self, current, best, min_delta=0.0):
        if self.mode == "min":
            return current < best - min_delta
        return current > best + min_delta

    def _worst(self):
        return math.inf if self.mode == "min" else -math.inf


class ModelCheckpoint(_Monitor):
    """Save the model at the end of every epoch (or only when it improves).

    ``path`` may hold ``str.format`` fields: ``{epoch}`` is the number of
    epochs completed (1 after the first: pass it to ``fit(initial_epoch=...)``
    to resume from that file), and any logged value by name, e.g.
    "ckpt-{epoch:03d}-{val_loss:.3f}.npz".  Each file is written by
    ``model.save`` (temporary file + rename, so an interrupted save never
    damages an earlier checkpoint; a save that fails raises the OSError).

    With ``save_best_only`` a file is written only when the monitored value is
    better than every earlier one: lower for mode "min", higher for "max";
    "auto" maximises names containing "acc" and minimises the rest.

    Args:
        path: file name or pattern.
        monitor: the logged value compared by ``save_best_only``.
        save_best_only: skip epochs that do not improve ``monitor``.
        mode: "auto", "min" or "max".
        include_optimizer: save the loss and the optimizer state too, so that
            ``load_model`` returns a model ready to continue training.

    Example:
        >>> checkpoint = ModelCheckpoint("ckpt-{epoch}.npz", save_best_only=True)
        >>> model.fit(x, y, epochs=10, validation_data=(xv, yv), callbacks=[checkpoint])
    """

    def __init__(self, path, monitor="val_loss", save_best_only=False, mode="auto",
                 include_optimizer=True):
        super().__init__(monitor, mode)
        path = os.fspath(path)
        if not path:
            fail(self.name, "a non-empty path", path)
        self.path = path
        self.save_best_only = bool(save_best_only)
        self.include_optimizer = bool(include_optimizer)
        self.best = self._worst()

    def on_train_begin(self, logs=None):
        if self.save_best_only:
            super().on_train_begin(logs)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            current = self._current(logs)
            if not self._improves(current, self.best):
                return
        self.model.save(self.filepath(epoch, logs), include_optimizer=self.include_optimizer)
        # Only a value whose file was written is the best: after a failed save (a full
        # disk) the next improvement is still saved.
        if self.save_best_only:
            self.best = current

    def filepath(self, epoch, logs):
        """The file name for the end of ``epoch`` (from 0) with these logs."""
        try:
            return self.path.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"{self.name}: expected a path whose fields are 'epoch' or "
                             f"logged values {sorted(logs)}, got {self.path!r} "
                             f"({type(exc).__name__}: {exc})") from None


class EarlyStopping(_Monitor):
    """Stop training when the monitored value has stopped improving.

    An epoch improves when current < best - min_delta (mode "min") or
    current > best + min_delta (mode "max"); ``wait`` counts the epochs since
    the last improvement and training stops once wait >= patience, i.e. after
    ``patience`` epochs in a row without improvement (as Keras, patience 0 and
    1 both stop at the first epoch that does not improve).

    Args:
        monitor: the logged value to watch ("val_loss", "loss", "val_accuracy"...).
        patience: epochs without improvement tolerated.
        min_delta: smallest change that counts as an improvement (>= 0).
        mode: "auto" (maximise names containing "acc", minimise the rest), "min", "max".
        restore_best_weights: when stopping, put back the weights of the best epoch.

    After training, ``stopped_epoch`` is the epoch at which it stopped (None if
    it ran to the end), ``best`` the best value and ``best_epoch`` its epoch.

    Example:
        >>> stop = EarlyStopping(patience=3, restore_best_weights=True)
        >>> model.fit(x, y, epochs=100, validation_data=(xv, yv), callbacks=[stop])
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto",
                 restore_best_weights=False):
        super().__init__(monitor, mode)
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) \
                or patience < 0:
            fail(self.name, "patience an integer >= 0", patience)
        self.patience = int(patience)
        self.min_delta = check_finite(min_delta, self.name, "min_delta", low=0.0)
        self.restore_best_weights = bool(restore_best_weights)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.wait = 0
        self.best = self._worst()
        self.best_epoch = None
        self.best_weights = None
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        current = self._current(logs)
        if self._improves(current, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite.

    The message (naming the epoch and the batch, both from 0) is written once
    to stderr, above any progress bar, and kept in ``message`` (None while
    every loss is finite); ``fit`` then finishes the epoch's bookkeeping with
    the batches done so far and returns.

    Example:
        >>> guard = TerminateOnNaN()
        >>> model.fit(x, y, epochs=5, callbacks=[guard]); guard.message
    """

    def __init__(self):
        self.message = None
        self._epoch = None

    def on_train_begin(self, logs=None):
        self.message = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss) and self.message is None:
            self.message = (f"TerminateOnNaN: loss {loss} at epoch {self._epoch}, batch {batch}; "
                            "training stopped")
            tqdm.write(self.message, file=sys.stderr)
            self.model.stop_training = True


class CSVLogger(Callback):
    """Write one CSV row per epoch: "epoch" then every logged value.

    The columns are fixed by the first epoch logged (sorted names after
    "epoch"); the header is written once, when the file is empty.  With
    ``append=False`` the file is emptied when training begins; with
    ``append=True`` rows are added to an existing file, which is how a resumed
    run (``fit(initial_epoch=k)``) continues its log.  Each row is written and
    flushed at the end of its epoch, so a killed run keeps its rows.

    Example:
        >>> model.fit(x, y, epochs=5, callbacks=[CSVLogger("training.csv")])
        >>> open("training.csv").readline()
        'epoch,accuracy,loss\\n'
    """

    def __init__(self, path, append=False):
        self.path = os.fspath(path)
        self.append = bool(append)
        self.keys = None

    def on_train_begin(self, logs=None):
        self.keys = None
        if not self.append:
            with open(self.path, "w", newline=""):
                pass

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        with open(self.path, "a", newline="") as f:
            writer = csv.writer(f)
            if f.tell() == 0:
                writer.writerow(["epoch", *self.keys])
            writer.writerow([epoch, *(logs.get(key, "") for key in self.keys)])
