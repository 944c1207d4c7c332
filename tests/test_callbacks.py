"""Callbacks: the hook protocol of fit, stop_training, ModelCheckpoint, EarlyStopping,
TerminateOnNaN and CSVLogger, and their validation."""
import csv
import math

import numpy as np
import pytest

from retrograd import Sequential, load_model
from retrograd.callbacks import (Callback, CSVLogger, EarlyStopping, History, ModelCheckpoint,
                                 TerminateOnNaN)
from retrograd.layers import Dense, ReLU
from retrograd.losses import SparseCategoricalCrossEntropy
from retrograd.models import Callback as ModelsCallback
from retrograd.optimizers import SGD, Adam


def _model(seed=0, optimizer=None):
    model = Sequential([Dense(4, 8, seed=seed), ReLU(), Dense(8, 3, seed=seed + 1)])
    return model.compile(SparseCategoricalCrossEntropy(from_logits=True), optimizer or SGD(0.1))


def _blobs(n=40, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    x = (rng.normal(size=(n, 4)) * 0.3 + np.eye(4)[y] * 2).astype(np.float32)
    return x, y


def test_callback_is_still_importable_from_models():
    assert ModelsCallback is Callback and issubclass(History, Callback)


# ---- the protocol ------------------------------------------------------------------------------
class _Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_batch_end(self, batch, logs=None):
        self.events.append(("batch_end", batch, sorted(logs), logs["size"]))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, sorted(logs)))

    def on_train_end(self, logs=None):
        self.events.append(("train_end", sorted(logs)))


def test_fit_calls_every_hook_in_order_with_model_params_and_logs():
    x, y = _blobs(20)
    model, recorder = _model(), _Recorder()
    model.fit(x, y, epochs=3, batch_size=8, validation_data=(x, y), verbose=0,
              callbacks=[recorder], initial_epoch=1)
    batch_keys = ["accuracy", "batch", "loss", "size"]
    epoch_keys = ["accuracy", "loss", "val_accuracy", "val_loss"]
    expected = [("train_begin",)]
    for epoch in (1, 2):
        expected += [("epoch_begin", epoch)]
        expected += [("batch_end", b, batch_keys, n) for b, n in enumerate((8, 8, 4))]
        expected += [("epoch_end", epoch, epoch_keys)]
    assert recorder.events == expected + [("train_end", epoch_keys)]
    assert recorder.model is model
    assert recorder.params == {"epochs": 3, "initial_epoch": 1, "batch_size": 8, "steps": 3,
                               "verbose": 0, "metrics": ["loss", "accuracy", "val_loss",
                                                         "val_accuracy"]}


def test_batch_logs_hold_the_loss_of_that_batch_before_the_update():
    x, y = _blobs(16)
    losses = []

    class Losses(Callback):
        def on_batch_end(self, batch, logs=None):
            losses.append(logs["loss"])

    model, reference = _model(), _model()
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0, callbacks=[Losses()])
    expected = [reference.train_step(x[:8], y[:8]), reference.train_step(x[8:], y[8:])]
    assert losses == expected


def test_a_callback_stops_training_after_the_current_batch():
    x, y = _blobs(40)

    class StopAtThirdBatch(Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.stop_training = True

    recorder = _Recorder()
    history = _model().fit(x, y, epochs=5, batch_size=8, verbose=0,
                           callbacks=[StopAtThirdBatch(), recorder])
    assert history.epoch == [0]
    assert [e[1] for e in recorder.events if e[0] == "batch_end"] == [0, 1, 2]
    assert recorder.events[-1][0] == "train_end"


def test_fit_refuses_objects_that_are_not_callbacks_and_bad_initial_epochs():
    x, y = _blobs(8)
    with pytest.raises(TypeError, match="expected callbacks that are Callback instances"):
        _model().fit(x, y, verbose=0, callbacks=[print])
    for bad in (-1, 3, 1.0, True):
        with pytest.raises(ValueError, match=r"expected initial_epoch an integer in \[0, "
                                             r"epochs=3\)"):
            _model().fit(x, y, epochs=3, initial_epoch=bad, verbose=0)


# ---- EarlyStopping -----------------------------------------------------------------------------
def _drive(callback, values, key="val_loss", model=None):
    """Run callback's epoch hooks on scripted values of ``key``; the epochs it ran."""
    model = model or _model()
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    ran = []
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        ran.append(epoch)
        callback.on_epoch_end(epoch, {key: value})
        if model.stop_training:
            break
    return ran


@pytest.mark.parametrize("kwargs, values, key, stopped, best_epoch", [
    ({}, [1.0, 0.9, 0.95, 0.5], "val_loss", 2, 1),
    ({"patience": 2}, [1.0, 0.9, 0.95, 0.5, 0.6, 0.7, 0.1], "val_loss", 5, 3),
    ({"patience": 1, "min_delta": 0.05}, [1.0, 0.97, 0.9], "val_loss", 1, 0),
    ({"monitor": "val_accuracy"}, [0.5, 0.7, 0.6], "val_accuracy", 2, 1),
    ({"monitor": "loss", "mode": "max"}, [0.5, 0.7, 0.6], "loss", 2, 1),
    ({"patience": 5}, [1.0, 0.9, 0.8], "val_loss", None, 2),
])
def test_early_stopping_counts_epochs_without_improvement(kwargs, values, key, stopped,
                                                          best_epoch):
    stop = EarlyStopping(**kwargs)
    ran = _drive(stop, values, key)
    assert ran == list(range(len(values) if stopped is None else stopped + 1))
    assert stop.stopped_epoch == stopped
    assert stop.best_epoch == best_epoch and stop.best == values[best_epoch]


def test_early_stopping_restores_the_weights_of_the_best_epoch():
    model = _model()
    stop = EarlyStopping(patience=1, restore_best_weights=True)
    stop.set_model(model)
    stop.on_train_begin()
    snapshots = []
    for epoch, value in enumerate([1.0, 0.5, 0.8]):
        for p in model.layers[0].params:
            p += 1.0
        snapshots.append(model.get_weights())
        stop.on_epoch_end(epoch, {"val_loss": value})
    assert model.stop_training and stop.stopped_epoch == 2
    for got, best in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(got, best)


def test_early_stopping_ends_fit_when_validation_loss_stays_flat():
    x, y = _blobs(20)
    # A learning rate far below float32 resolution leaves val_loss exactly unchanged.
    model = _model(optimizer=SGD(1e-30))
    history = model.fit(x, y, epochs=10, batch_size=8, validation_data=(x, y), verbose=0,
                        callbacks=[EarlyStopping(patience=2)])
    assert history.epoch == [0, 1, 2]


@pytest.mark.parametrize("callback", [EarlyStopping(), ModelCheckpoint("m.npz",
                                                                       save_best_only=True)])
def test_a_monitor_missing_from_the_logs_is_an_error_naming_the_callback(callback, tmp_path):
    x, y = _blobs(8)
    name = type(callback).__name__
    with pytest.raises(ValueError, match=rf"{name}: expected monitor one of the logged values "
                                         r"\['loss', 'accuracy'\] \(val_ values need "
                                         r"validation_data in fit\), got 'val_loss'"):
        _model().fit(x, y, epochs=2, verbose=0, callbacks=[callback])
    with pytest.raises(ValueError, match=f"{name}: expected monitor one of the logged values"):
        callback.on_epoch_end(0, {"loss": 1.0})


@pytest.mark.parametrize("make, error, message", [
    (lambda: EarlyStopping(mode="minimum"), ValueError, "expected mode 'auto', 'min' or 'max'"),
    (lambda: EarlyStopping(monitor=""), TypeError, "expected monitor the name of a logged value"),
    (lambda: EarlyStopping(patience=-1), ValueError, "expected patience an integer >= 0"),
    (lambda: EarlyStopping(patience=1.5), ValueError, "expected patience an integer >= 0"),
    (lambda: EarlyStopping(min_delta=-0.1), ValueError, "expected min_delta >= 0.0"),
    (lambda: EarlyStopping(min_delta=math.nan), ValueError, "expected min_delta a finite"),
    (lambda: ModelCheckpoint(""), ValueError, "expected a non-empty path"),
    (lambda: ModelCheckpoint("m.npz", mode=None), ValueError, "expected mode 'auto'"),
])
def test_callbacks_refuse_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


# ---- ModelCheckpoint ---------------------------------------------------------------------------
def test_checkpoint_writes_one_file_per_epoch_named_by_the_number_of_epochs_done(tmp_path):
    x, y = _blobs(20)
    model = _model(optimizer=Adam(0.01))
    model.fit(x, y, epochs=3, batch_size=8, verbose=0,
              callbacks=[ModelCheckpoint(tmp_path / "ckpt-{epoch}.npz")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-1.npz", "ckpt-2.npz",
                                                          "ckpt-3.npz"]
    last = load_model(tmp_path / "ckpt-3.npz")
    for a, b in zip(last.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert isinstance(last.optimizer, Adam) and last.optimizer.t == model.optimizer.t == 9


def test_checkpoint_save_best_only_formats_logged_values_into_the_name(tmp_path):
    checkpoint = ModelCheckpoint(tmp_path / "m-{epoch:02d}-{val_loss:.1f}.npz",
                                 save_best_only=True, include_optimizer=False)
    _drive(checkpoint, [3.0, 2.0, 2.5, 1.0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-01-3.0.npz", "m-02-2.0.npz",
                                                          "m-04-1.0.npz"]
    assert checkpoint.best == 1.0
    assert load_model(tmp_path / "m-04-1.0.npz").optimizer is None


def test_checkpoint_in_max_mode_for_accuracies_and_bad_fields(tmp_path):
    checkpoint = ModelCheckpoint(tmp_path / "best.npz", monitor="val_accuracy",
                                 save_best_only=True)
    model = _model()
    _drive(checkpoint, [0.5], "val_accuracy", model)
    first = (tmp_path / "best.npz").read_bytes()
    _drive(checkpoint, [0.4], "val_accuracy", model)
    assert (tmp_path / "best.npz").read_bytes() == first and checkpoint.best == 0.5
    bad = ModelCheckpoint(tmp_path / "m-{step}.npz")
    with pytest.raises(ValueError, match=r"ModelCheckpoint: expected a path whose fields are "
                                         r"'epoch' or logged values \['val_loss'\]"):
        _drive(bad, [1.0])


# ---- TerminateOnNaN ----------------------------------------------------------------------------
def test_terminate_on_nan_stops_at_the_first_bad_batch_and_says_where_once(capsys):
    x, y = _blobs(40)
    x[18] = np.nan           # in the third batch of 8, without shuffling
    guard, recorder = TerminateOnNaN(), _Recorder()
    # No ReLU: the native ReLU maps NaN to 0, which would hide the bad sample.
    model = Sequential([Dense(4, 3, seed=0)]).compile(
        SparseCategoricalCrossEntropy(from_logits=True), SGD(0.1))
    history = model.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0,
                           callbacks=[guard, recorder])
    assert guard.message == "TerminateOnNaN: loss nan at epoch 0, batch 2; training stopped"
    assert capsys.readouterr().err.count("TerminateOnNaN") == 1
    assert history.epoch == [0] and math.isnan(history.history["loss"][0])
    assert [e[1] for e in recorder.events if e[0] == "batch_end"] == [0, 1, 2]


def test_terminate_on_nan_stays_silent_while_losses_are_finite(capsys):
    x, y = _blobs(16)
    guard = TerminateOnNaN()
    assert len(_model().fit(x, y, epochs=2, verbose=0, callbacks=[guard]).epoch) == 2
    assert guard.message is None and capsys.readouterr().err == ""


# ---- CSVLogger ---------------------------------------------------------------------------------
def _rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_csv_logger_writes_a_header_once_and_one_row_per_epoch(tmp_path):
    x, y = _blobs(20)
    path = tmp_path / "log.csv"
    path.write_text("old content\n")
    history = _model().fit(x, y, epochs=3, validation_data=(x, y), verbose=0,
                           callbacks=[CSVLogger(path)])
    rows = _rows(path)
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    for k, key in enumerate(rows[0][1:], start=1):
        assert [float(r[k]) for r in rows[1:]] == history.history[key]


def test_csv_logger_appends_the_rows_of_a_resumed_run_under_the_same_header(tmp_path):
    x, y = _blobs(20)
    path = tmp_path / "log.csv"
    model = _model()
    model.fit(x, y, epochs=2, seed=0, verbose=0, callbacks=[CSVLogger(path)])
    model.fit(x, y, epochs=4, initial_epoch=2, seed=0, verbose=0,
              callbacks=[CSVLogger(path, append=True)])
    rows = _rows(path)
    assert rows[0] == ["epoch", "accuracy", "loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2", "3"]
