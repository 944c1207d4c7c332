"""Training, evaluation and prediction of a model: compile, train_step, fit, evaluate,
predict (API.md, "Model" and second part).

``Training`` is mixed into ``Model``; it relies on the model's ``forward``,
``_run_backward``, ``params`` / ``grads``, ``_mode`` and its input / output counts.

Losses: one loss for a model with one output; with several outputs, a list of
losses (one per output, weighted by ``loss_weights``; one loss alone is used for
every output, as Keras does) or one multi-input loss that takes all outputs at
once (TripletLoss: anchor, positive, negative embeddings, y=None;
ContrastiveLoss: two embeddings, y = similar).  Training computes each loss and
its gradient in one fused pass (``loss.forward_backward``).
"""
import math
import time

import numpy as np
from tqdm import tqdm

from .. import metrics as _metrics
from .._validation import as_array, as_real_array, check_finite, check_positive_int, fail
from ..callbacks import Callback, History
from ..datasets.batches import batch_indices, check_seed

_DEFAULT_METRICS = ("accuracy",)


class Training:
    """compile / train_step / fit / evaluate / predict for ``Model`` and ``Sequential``.

    ``fit``, ``train_step`` and ``evaluate`` take x as a float array of any width or
    a list of numbers (a list of such arrays, one per input, for several inputs; bool
    and integer arrays are refused with a TypeError, as the layers refuse them) and y
    as numbers (labels may be integers): one array per output (a list for several
    outputs), ``similar`` (N,) for ContrastiveLoss, None for TripletLoss.  Arrays
    with different sample counts, or no samples, raise a ValueError naming the method.
    """

    # ---- compile --------------------------------------------------------------------------------
    def compile(self, loss, optimizer, metrics=_DEFAULT_METRICS, loss_weights=None):
        """Choose the loss, the optimizer (``step(params, grads)``) and the metrics
        reported by fit / evaluate (names or callables ``f(y_pred, y_true) -> float``).

        ``loss``: a loss (``forward``, ``backward``; training uses
        ``forward_backward``); for several outputs a list with one loss per output,
        or one multi-input loss (TripletLoss, ContrastiveLoss) taking every output.
        ``loss_weights``: a list of one weight per output (per-output losses only);
        the reported loss is the weighted sum.  Metrics are computed per output and,
        for several outputs, named ``<output layer>_<metric>``; a multi-input loss has
        no per-output targets, so it takes no metrics (the default accuracy is left out).
        """
        owner = f"{self.owner}.compile"
        n_out = len(self._output_slots)
        if not callable(getattr(optimizer, "step", None)):
            fail(owner, "an optimizer with a step method", type(optimizer).__name__, TypeError)
        if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
            fail(owner, "metrics as a list or tuple", metrics, TypeError)
        loss_list = list(loss) if isinstance(loss, (list, tuple)) else [loss]
        for item in loss_list:
            if not (callable(getattr(item, "forward", None))
                    and callable(getattr(item, "backward", None))):
                fail(owner, "a loss with forward and backward methods", type(item).__name__,
                     TypeError)
        arity = [getattr(item, "n_predictions", 1) for item in loss_list]
        names = self._output_names()
        if len(loss_list) == 1 and arity[0] > 1:
            if arity[0] != n_out:
                fail(owner, f"a model with {arity[0]} outputs for {type(loss).__name__}",
                     f"{n_out} outputs")
            if loss_weights is not None:
                fail(owner, "no loss_weights with a multi-input loss", loss_weights)
            if tuple(metrics) != _DEFAULT_METRICS and metrics:
                fail(owner, f"no metrics with {type(loss).__name__} (its outputs are "
                     "embeddings with no per-output targets)", metrics)
            metrics = ()
            terms = [(None, loss_list[0], list(range(n_out)),
                      0 if getattr(loss, "takes_target", True) else None, 1.0)]
        else:
            if any(a != 1 for a in arity):
                fail(owner, "losses of one prediction each in a list", loss_list)
            if len(loss_list) == 1:
                loss_list = loss_list * n_out
            if len(loss_list) != n_out:
                fail(owner, f"one loss or a list of {n_out} (one per output)",
                     f"{len(loss_list)} losses")
            weights = [1.0] * n_out
            if loss_weights is not None:
                if not isinstance(loss_weights, (list, tuple)) or len(loss_weights) != n_out:
                    fail(owner, f"loss_weights a list of {n_out} numbers", loss_weights,
                         TypeError if not isinstance(loss_weights, (list, tuple))
                         else ValueError)
                weights = [check_finite(w, owner, "loss_weights", low=0.0) for w in
                           loss_weights]
            terms = [(f"{names[i]}_loss" if n_out > 1 else None, item, [i], i, weights[i])
                     for i, item in enumerate(loss_list)]
        resolved = dict(_metrics.get(metric) for metric in metrics)
        if "loss" in resolved:
            fail(owner, "metric names other than 'loss'", "loss")
        self.loss = loss if len(loss_list) == 1 or arity[0] > 1 else list(loss_list)
        self.optimizer, self.metrics = optimizer, resolved
        self.loss_weights = None if loss_weights is None else list(loss_weights)
        self._loss_terms = terms
        self._n_targets = 0 if terms[0][3] is None else len(terms)
        return self

    def _output_names(self):
        return [t.name for t in self._outputs] if hasattr(self, "_outputs") else ["output"]

    def _require_compiled(self, owner):
        if self.loss is None or self.optimizer is None:
            fail(owner, "a compiled model (call model.compile(loss, optimizer) first)",
                 "an uncompiled model", RuntimeError)

    # ---- one step -------------------------------------------------------------------------------
    def _train_batch(self, xs, ys):
        """Forward, fused loss and gradient, backward (no dL/d input at the first
        layers, which nothing uses), optimizer step; (loss, outputs, logs)."""
        outs = self._forward_list(xs)
        total, parts, output_grads = self._losses_of(outs, ys, with_grads=True)
        self._run_backward(output_grads, skip_input_grads=True)
        total += self._regularization(with_grads=True)
        self.optimizer.step(self.params, self.grads)
        return total, outs, parts

    def _regularization(self, with_grads):
        """The sum of the trainable layers' kernel penalties (textbook ch. 24); with
        ``with_grads`` each penalty's gradient is added to its kernel's gradient."""
        total = 0.0
        for layer in self._trainable_leaves():
            regularizer = layer.kernel_regularizer
            if regularizer is not None:
                total += regularizer.penalty(layer.params[0])
                if with_grads:
                    regularizer.add_gradient(layer.params[0], layer.grads[0])
        return total

    def _forward_list(self, xs):
        outs = self.forward(xs[0] if self._single_input else xs)
        return [outs] if self._single_output else outs

    def _losses_of(self, outs, ys, with_grads):
        """(weighted total, {per-output loss name: value}, dL/d output list or None)."""
        total, parts = 0.0, {}
        grads = [None] * len(outs) if with_grads else None
        for name, loss, which, target, weight in self._loss_terms:
            args = [outs[i] for i in which] + ([ys[target]] if target is not None else [])
            if with_grads:
                value, grad = _forward_backward(loss, args)
                pieces = [grad] if len(which) == 1 else list(grad)
                for i, g in zip(which, pieces):
                    grads[i] = g if weight == 1.0 else g * g.dtype.type(weight)
            else:
                value = loss.forward(*args)
            value = float(value)
            total += weight * value
            if name is not None:
                parts[name] = value
        return total, parts, grads

    def _metric_values(self, outs, ys):
        values = {}
        names = self._output_names()
        for i, out in enumerate(outs):
            if self._n_targets == 0:
                break
            for metric_name, metric in self.metrics.items():
                key = metric_name if len(outs) == 1 else f"{names[i]}_{metric_name}"
                values[key] = float(metric(out, ys[i]))
        return values

    def _log_names(self):
        names = ["loss", *(term[0] for term in self._loss_terms if term[0] is not None)]
        outputs = self._output_names() if self._n_targets else []
        for i in range(len(outputs)):
            for metric_name in self.metrics:
                names.append(metric_name if len(outputs) == 1 else f"{outputs[i]}_{metric_name}")
        return names

    def train_step(self, x, y):
        """One update on a batch: forward, loss, backward, optimizer step.
        Returns the loss of this forward pass, i.e. before the update.
        x and y are checked as in ``fit``."""
        owner = f"{self.owner}.train_step"
        self._require_compiled(owner)
        return self._train_batch(*self._check_data(x, y, owner))[0]

    # ---- fit ------------------------------------------------------------------------------------
    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, shuffle=True, seed=None,
            verbose=1, callbacks=None, initial_epoch=0, augment=None):
        """Train for epochs ``initial_epoch`` .. ``epochs - 1`` over (x, y) in mini-batches.

        Epoch e visits the samples in the order ``datasets.batches`` draws from
        ``np.random.default_rng([seed, e])``: it depends on (seed, e) only, so
        training epochs 0..k-1, saving with the optimizer, loading and fitting
        with ``initial_epoch=k`` and the same seed repeats the uninterrupted
        run exactly (the generators of Dropout, RReLU and NoisyReLU are saved
        too).  Only the index permutation is shuffled; each batch is gathered
        from it (every input and target with the same indices).  The last
        partial batch is used.

        ``augment(x_batch, epoch=e, batch=b)``, e.g. a
        ``datasets.ImageAugmenter``, transforms each training batch (the list of
        input batches for several inputs); the validation data is never augmented.

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
        owner = f"{self.owner}.fit"
        self._require_compiled(owner)
        xs, ys = self._check_data(x, y, owner)
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
            self._check_data(*validation_data, owner, "validation_data")
        callbacks = list(callbacks) if callbacks is not None else []
        for cb in callbacks:
            if not isinstance(cb, Callback):
                fail(owner, "callbacks that are Callback instances", type(cb).__name__,
                     TypeError)
        history = History()
        callbacks = [history] + callbacks
        names = self._log_names()
        if validation_data is not None:
            names += [f"val_{name}" for name in names]
        n = len(xs[0])
        params = {"epochs": epochs, "initial_epoch": int(initial_epoch),
                  "batch_size": batch_size, "steps": math.ceil(n / batch_size),
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
                    logs, rate = self._fit_epoch(xs, ys, epoch, batch_size, shuffle, seed,
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

    def _fit_epoch(self, xs, ys, epoch, batch_size, shuffle, seed, augment, callbacks, bar):
        """One pass of training; returns the epoch's logs (means over the samples seen)
        and the training speed in samples per second."""
        totals = dict.fromkeys(self._log_names(), 0.0)
        seen = 0
        start = time.perf_counter()
        for batch, index in enumerate(batch_indices(len(xs[0]), batch_size, shuffle, seed,
                                                    epoch)):
            xb = [x[index] for x in xs]
            yb = [y[index] for y in ys]
            if augment is not None:
                augmented = augment(xb[0] if self._single_input else xb, epoch=epoch,
                                    batch=batch)
                xb = [augmented] if self._single_input else list(augmented)
            size = len(xb[0])
            loss, outs, parts = self._train_batch(xb, yb)
            batch_logs = {"batch": batch, "size": size, "loss": loss, **parts,
                          **self._metric_values(outs, yb)}
            seen += size
            for name in totals:
                totals[name] += batch_logs[name] * size
            for cb in callbacks:
                cb.on_batch_end(batch, dict(batch_logs))
            if not bar.disable:
                running = {key: value / seen for key, value in totals.items()}
                bar.set_postfix(_postfix(running, seen / _elapsed(start)), refresh=False)
                bar.update()
            if self.stop_training:
                break
        return {key: value / seen for key, value in totals.items()}, seen / _elapsed(start)

    # ---- inference ------------------------------------------------------------------------------
    def predict(self, x, batch_size=256):
        """Outputs for ``x`` computed in batches, in inference mode (the previous
        mode of every layer is restored afterwards); a list of arrays for a model
        with several outputs."""
        owner = f"{self.owner}.predict"
        batch_size = check_positive_int(batch_size, owner, "batch_size")
        xs = self._check_inputs(x, owner)
        with self._mode(False):
            pieces = [self._forward_list([a[index] for a in xs])
                      for index in batch_indices(len(xs[0]), batch_size, shuffle=False)]
        outs = [np.concatenate([piece[i] for piece in pieces], axis=0)
                for i in range(len(pieces[0]))]
        return outs[0] if self._single_output else outs

    def evaluate(self, x, y, batch_size=256):
        """{"loss": ..., <metric>: ...} on (x, y) in inference mode; the loss is the
        compiled loss of all the predictions at once, so batching changes nothing (plus
        the layers' kernel penalties, as in training)."""
        owner = f"{self.owner}.evaluate"
        self._require_compiled(owner)
        xs, ys = self._check_data(x, y, owner)
        outs = self.predict(xs[0] if self._single_input else xs, batch_size)
        outs = [outs] if self._single_output else outs
        total, parts, _ = self._losses_of(outs, ys, with_grads=False)
        total += self._regularization(with_grads=False)
        return {"loss": total, **parts, **self._metric_values(outs, ys)}

    # ---- data checks ----------------------------------------------------------------------------
    def _check_inputs(self, x, owner):
        """The input arrays (a list, one per model input) with one sample count >= 1."""
        xs = self._input_list(x, owner)
        for a in xs:
            if a.ndim == 0 or len(a) == 0:
                fail(owner, "a non-empty batch of inputs", f"shape {a.shape}")
        _same_count(xs, owner, "x")
        return xs

    def _input_list(self, x, owner):
        if self._single_input:
            return [as_real_array(x, owner, "x")]
        if not isinstance(x, (list, tuple)) or len(x) != self._n_inputs:
            fail(owner, f"x as a list of {self._n_inputs} arrays (one per input)",
                 f"a list of {len(x)}" if isinstance(x, (list, tuple)) else type(x).__name__,
                 ValueError if isinstance(x, (list, tuple)) else TypeError)
        return [as_real_array(a, owner, "x") for a in x]

    def _check_data(self, x, y, owner, name="x and y"):
        """(input arrays, target arrays) for training or evaluation: x as in
        ``_check_inputs``; y numeric, one array per loss target (none for a loss that
        takes no targets), every array with the same number of samples, at least one."""
        xs = self._input_list(x, owner)
        if self._n_targets == 0:
            if y is not None:
                fail(owner, f"y=None for {type(self.loss).__name__} (it compares the "
                     "model's outputs with each other)", type(y).__name__, TypeError)
            items = []
        elif self._n_targets == 1:
            items = [y]
        elif not isinstance(y, (list, tuple)) or len(y) != self._n_targets:
            fail(owner, f"y as a list of {self._n_targets} arrays (one per output)",
                 f"a list of {len(y)}" if isinstance(y, (list, tuple)) else type(y).__name__,
                 ValueError if isinstance(y, (list, tuple)) else TypeError)
        else:
            items = list(y)
        ys = [as_array(t, owner, "y") for t in items]
        for t in ys:
            if t.dtype.kind not in "biuf":
                fail(owner, "numeric y", t.dtype, TypeError)
        arrays = xs + ys
        if any(a.ndim == 0 for a in arrays):
            fail(owner, f"{name} as arrays with a batch axis",
                 "shapes " + " and ".join(str(a.shape) for a in arrays))
        _same_count(arrays, owner, name)
        if len(xs[0]) == 0:
            fail(owner, f"{name} with at least one sample", "0 samples")
        return xs, ys


def _same_count(arrays, owner, name):
    counts = [len(a) for a in arrays]
    if len(set(counts)) > 1:
        fail(owner, f"{name} with the same number of samples",
             " and ".join(map(str, counts)))


def _forward_backward(loss, args):
    """(loss, gradient) in one call where the loss has ``forward_backward`` (every
    retrograd loss), else from its ``forward`` and ``backward`` (a user's own loss)."""
    fused = getattr(loss, "forward_backward", None)
    if fused is not None:
        return fused(*args)
    return loss.forward(*args), loss.backward(*args)


def _elapsed(start):
    # Never zero: a coarse clock can report no time for a tiny first batch.
    return max(time.perf_counter() - start, 1e-9)


def _postfix(logs, rate):
    """The progress bar's text after the counter: values, then the speed."""
    return {**{key: f"{value:.4f}" for key, value in logs.items()}, "images/s": f"{rate:.0f}"}
