"""Sequential: chaining, params/grads, modes, the training loop, inference, summary,
save / load_model, the digits MLP on both backends, and bad input."""
import json
import time

import numpy as np
import pytest

import retrograd
from retrograd import Sequential, load_model
from retrograd.datasets import load_digits, train_test_split
from retrograd.layers import Dense, Layer, ReLU, Sigmoid
from retrograd.losses import MeanSquaredError, SparseCategoricalCrossEntropy
from retrograd.models import Callback, History
from retrograd.optimizers import SGD

BACKENDS = ["numpy"] + (["native"] if retrograd.native_available() else [])


def _mlp(dtype=np.float32, seed=0):
    return Sequential([Dense(4, 8, seed=seed, dtype=dtype), ReLU(dtype=dtype),
                       Dense(8, 3, seed=seed + 1, dtype=dtype)])


def _blobs(n=60, seed=0):
    """Three separable classes in 4-D, float32 inputs and int labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    x = (rng.normal(size=(n, 4)) * 0.3 + np.eye(4)[y] * 2).astype(np.float32)
    return x, y


def _compiled(model=None, lr=0.1):
    model = model or _mlp()
    return model.compile(SparseCategoricalCrossEntropy(from_logits=True), SGD(lr))


# ---- forward / backward / params --------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_forward_and_backward_equal_manual_chaining(backend):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 4))
    upstream = rng.normal(size=(5, 3))
    model, manual = _mlp(np.float64), _mlp(np.float64)
    with retrograd.use_backend(backend):
        y = model(x)
        dx = model.backward(upstream)
        h = x
        for layer in manual.layers:
            h = layer.forward(h)
        g = upstream
        for layer in reversed(manual.layers):
            g, _ = layer.backward(g)
    np.testing.assert_array_equal(y, h)
    np.testing.assert_array_equal(dx, g)
    for mine, theirs in zip(model.grads, manual.grads):
        for a, b in zip(mine, theirs):
            np.testing.assert_array_equal(a, b)


def test_params_and_grads_are_the_layers_own_arrays_one_group_per_layer_with_params():
    model = _mlp()
    first, _, last = model.layers
    assert len(model.params) == len(model.grads) == 2
    assert all(a is b for a, b in zip(model.params[0], [first.weights, first.biases]))
    assert all(a is b for a, b in zip(model.params[1], last.params))
    assert all(a is b for a, b in zip(model.grads[1], last.grads))


def test_train_and_eval_set_every_layers_mode():
    model = _mlp()
    assert model.eval() is model
    assert not any(layer.training for layer in model.layers)
    model.train()
    assert all(layer.training for layer in model.layers)


class _ModeProbe(Layer):
    """Identity layer that records the mode of each forward call."""

    def __init__(self, dtype=np.float32):
        super().__init__(dtype)
        self.seen = []

    def forward(self, input_data):
        self.seen.append(self.training)
        return np.asarray(input_data, self.dtype)

    def backward(self, grad_output):
        return grad_output, None


def test_predict_runs_in_eval_mode_and_restores_each_layers_mode():
    probe = _ModeProbe()
    model = Sequential([Dense(4, 3, seed=0), probe])
    model.layers[0].training = False
    model.predict(np.zeros((3, 4), np.float32))
    assert probe.seen == [False]
    assert probe.training is True and model.layers[0].training is False


def test_fit_trains_in_training_mode_and_validates_in_eval_mode():
    probe = _ModeProbe()
    model = _compiled(Sequential([Dense(4, 3, seed=0), probe])).eval()
    x, y = _blobs(10)
    model.fit(x, y, epochs=1, batch_size=10, validation_data=(x, y), verbose=0)
    assert probe.seen == [True, False]
    assert probe.training is False


# ---- training -----------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_train_step_returns_the_loss_before_the_update_and_updates(backend):
    x, y = _blobs(16)
    model = _compiled()
    loss = SparseCategoricalCrossEntropy(from_logits=True)
    with retrograd.use_backend(backend):
        before = loss.forward(model.forward(x), y)
        weights = model.layers[0].weights.copy()
        got = model.train_step(x, y)
        after = loss.forward(model.forward(x), y)
    assert isinstance(got, float)
    assert got == pytest.approx(before, rel=1e-6)
    assert after < before
    assert not np.array_equal(weights, model.layers[0].weights)


def test_train_step_with_mse_equals_one_manual_sgd_step():
    rng = np.random.default_rng(3)
    x, target = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    model = _mlp(np.float64).compile(MeanSquaredError(), SGD(0.05), metrics=())
    manual = _mlp(np.float64)
    model.train_step(x, target)
    out = manual.forward(x)
    manual.backward(2 * (out - target) / out.size)
    for group, grads in zip(manual.params, manual.grads):
        for p, g in zip(group, grads):
            p -= 0.05 * g
    for a, b in zip(model.params, manual.params):
        for p, q in zip(a, b):
            np.testing.assert_allclose(p, q, rtol=1e-12)


@pytest.mark.parametrize("first", ["conv", "dense"])
def test_train_step_skips_only_the_first_layers_input_gradient(backend, first):
    """train_step asks the first layer for no dL/dx (input_grad=False); every parameter
    gradient it leaves behind is bit-identical to a full backward's."""
    from retrograd.layers import Conv2D, Flatten
    rng = np.random.default_rng(4)
    if first == "conv":
        x = rng.normal(size=(5, 9, 9, 1))
        build = lambda: Sequential([Conv2D(1, 6, 5, padding=1, seed=0, dtype=np.float64),
                                    ReLU(dtype=np.float64), Flatten(),
                                    Dense(7 * 7 * 6, 3, seed=1, dtype=np.float64)])
    else:
        x = rng.normal(size=(5, 4))
        build = lambda: _mlp(np.float64)
    y = rng.integers(0, 3, size=5)
    loss = SparseCategoricalCrossEntropy(from_logits=True)
    with retrograd.use_backend(backend):
        model = build().compile(loss, SGD(0.1), metrics=())
        manual = build()
        seen = []
        first_layer = model.layers[0]
        original = first_layer._backward
        first_layer._backward = lambda g, input_grad: (seen.append(input_grad),
                                                       original(g, input_grad))[1]
        model.train_step(x, y)
        out = manual.forward(x)
        manual.backward(loss.backward(out, y))
    assert seen == [False]
    for a, b in zip(model.grads, manual.grads):
        for g, h in zip(a, b):
            np.testing.assert_array_equal(g, h)


def test_fit_is_reproducible_with_a_seed_and_history_has_one_value_per_epoch():
    x, y = _blobs(50)
    runs = []
    for _ in range(2):
        model = _compiled(_mlp(seed=4))
        history = model.fit(x, y, epochs=3, batch_size=8, seed=11, verbose=0)
        runs.append((history.history, model.layers[0].weights.copy()))
    assert isinstance(history, History)
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert set(history.history) == {"loss", "accuracy"}
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [0, 1, 2]
    other = _compiled(_mlp(seed=4)).fit(x, y, epochs=3, batch_size=8, seed=12, verbose=0)
    assert other.history["loss"] != runs[0][0]["loss"]


def test_fit_without_shuffle_visits_samples_in_order_and_uses_the_last_partial_batch():
    x, y = _blobs(10)
    seen = []

    class Recorder(Layer):
        def forward(self, input_data):
            seen.append(np.asarray(input_data).copy())
            return np.asarray(input_data, self.dtype)

        def backward(self, grad_output):
            return grad_output, None

    model = _compiled(Sequential([Recorder(), Dense(4, 3, seed=0)]))
    model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    assert [len(b) for b in seen] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(seen), x)


def test_fit_reports_validation_metrics_equal_to_evaluate():
    x, y = _blobs(60)
    model = _compiled()
    history = model.fit(x[:40], y[:40], epochs=2, batch_size=16, seed=0, verbose=0,
                        validation_data=(x[40:], y[40:]))
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 2 for v in history.history.values())
    final = model.evaluate(x[40:], y[40:])
    assert history.history["val_loss"][-1] == pytest.approx(final["loss"])
    assert history.history["val_accuracy"][-1] == final["accuracy"]


def test_fit_verbose_draws_one_progress_bar_per_epoch_on_stderr_and_nothing_when_zero(capsys):
    x, y = _blobs(20)
    _compiled().fit(x, y, epochs=2, batch_size=8, validation_data=(x, y), verbose=1)
    captured = capsys.readouterr()
    assert captured.out == ""
    # tqdm redraws a bar with carriage returns; the last drawing of each bar is kept.
    bars = [line.split("\r")[-1] for line in captured.err.strip().split("\n")]
    assert len(bars) == 2
    assert bars[1].startswith("Epoch 2/2: 100%") and "3/3" in bars[1]
    for key in ("loss=", "accuracy=", "val_loss=", "val_accuracy=", "images/s="):
        assert key in bars[1]
    _compiled().fit(x, y, epochs=2, validation_data=(x, y), verbose=0)
    assert capsys.readouterr() == ("", "")


def test_callbacks_see_every_epoch_and_the_end():
    events = []

    class Recorder(Callback):
        def on_epoch_end(self, epoch, logs):
            events.append((epoch, sorted(logs)))

        def on_train_end(self, logs):
            events.append(("end", self.model is model))

    x, y = _blobs(20)
    model = _compiled()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[Recorder()])
    assert events == [(0, ["accuracy", "loss"]), (1, ["accuracy", "loss"]), ("end", True)]


def test_custom_metric_callables_are_reported_under_their_name():
    def mean_output(y_pred, y_true):
        return float(np.mean(y_pred))

    x, y = _blobs(20)
    model = _mlp().compile(SparseCategoricalCrossEntropy(from_logits=True), SGD(0.1),
                           metrics=("accuracy", mean_output))
    assert set(model.evaluate(x, y)) == {"loss", "accuracy", "mean_output"}


# ---- inference ------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_predict_and_evaluate_in_batches_equal_one_shot(backend):
    x, y = _blobs(37)
    model = _compiled(_mlp(np.float64))
    with retrograd.use_backend(backend):
        one_shot = model.forward(x)
        predicted = model.predict(x, batch_size=5)
        result = model.evaluate(x, y, batch_size=4)
    np.testing.assert_allclose(predicted, one_shot, rtol=1e-12)
    loss = SparseCategoricalCrossEntropy(from_logits=True).forward(one_shot, y)
    assert result["loss"] == pytest.approx(loss, rel=1e-12)
    assert result["accuracy"] == np.mean(one_shot.argmax(1) == y)


def test_summary_lists_layers_output_shapes_and_parameter_counts():
    text = Sequential([Dense(64, 128), ReLU(), Dense(128, 10)]).summary()
    lines = text.splitlines()
    assert "Output shape" in lines[0] and "Params" in lines[0]
    assert "Dense" in lines[2] and "(N, 128)" in lines[2] and lines[2].endswith("8,320")
    assert "ReLU" in lines[3] and "(N, 128)" in lines[3] and lines[3].endswith(" 0")
    assert "(N, 10)" in lines[4] and lines[4].endswith("1,290")
    assert lines[-1] == "Total params: 9,610"


def test_summary_shows_unknown_shapes_as_question_marks_unless_given():
    model = Sequential([ReLU(), Dense(4, 2)])
    assert "?" in model.summary().splitlines()[2]
    assert "(N, 3, 4)" in model.summary(input_shape=(3, 4)).splitlines()[2]


# ---- save / load --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_load_round_trip_gives_identical_predictions_without_pickle(tmp_path, dtype):
    model = Sequential([Dense(4, 8, seed=0, dtype=dtype), ReLU(dtype=dtype),
                        Dense(8, 3, seed=1, dtype=dtype), Sigmoid(dtype=dtype)])
    model.layers[0].biases[...] = np.arange(8) / 10
    path = tmp_path / "model.npz"
    model.save(path)
    first, second = model.layers[0].name, model.layers[2].name
    with np.load(path, allow_pickle=False) as archive:
        assert set(archive.files) == {"architecture", f"{first}/weights", f"{first}/biases",
                                      f"{second}/weights", f"{second}/biases"}
        spec = json.loads(str(archive["architecture"]))
    assert (spec["format"], spec["version"]) == ("retrograd.Model", 3)
    assert spec["model"]["class"] == "Sequential" and spec["model"]["name"] == model.name
    assert [layer["class"] for layer in spec["model"]["layers"]] == ["Dense", "ReLU", "Dense",
                                                                     "Sigmoid"]
    assert spec["model"]["chain"] == [layer.name for layer in model.layers]
    loaded = load_model(str(path))
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(dtype)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    assert [a.name for a in loaded.layers] == [b.name for b in model.layers]
    assert loaded.layers[0].dtype == dtype
    assert list(tmp_path.iterdir()) == [path]   # no temporary file left behind


def test_save_replaces_the_previous_file_atomically(tmp_path):
    path = tmp_path / "model.npz"
    _mlp(seed=0).save(path)
    second = _mlp(seed=5)
    second.save(path)
    np.testing.assert_array_equal(load_model(path).layers[0].weights, second.layers[0].weights)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_an_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    _mlp(seed=0).save(path)
    good = path.read_bytes()

    def disk_full(file, **arrays):
        file.write(b"PK partial archive")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space left"):
        _mlp(seed=1).save(path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def _rewrite(path, architecture=None, arrays=()):
    with np.load(path, allow_pickle=False) as archive:
        content = {key: archive[key] for key in archive.files}
    if architecture is not None:
        content["architecture"] = np.array(json.dumps(architecture))
    content.update(arrays)
    np.savez(path, **content)


def _architecture(path):
    with np.load(path, allow_pickle=False) as archive:
        return json.loads(str(archive["architecture"]))


@pytest.mark.parametrize("name", ["Unknown", "np", "__builtins__", "os", "Input", "Dense "])
def test_unknown_layer_class_names_are_refused(tmp_path, name):
    path = tmp_path / "model.npz"
    _mlp().save(path)
    spec = _architecture(path)
    spec["model"]["layers"][1]["class"] = name
    _rewrite(path, spec)
    with pytest.raises(ValueError, match=f"load_model: expected layer 1 a layer class of "
                                         f"retrograd.layers, got '{name}'"):
        load_model(path)


@pytest.mark.parametrize("name", ["Sequential", "Model"])
def test_a_layer_entry_naming_a_model_class_must_be_a_whole_model_entry(tmp_path, name):
    # In format 3 a nested model is an entry of class "Model" or "Sequential"; a layer's
    # entry relabelled so lacks what a model entry holds (its older-format counterpart,
    # refused as "not a layer class", is in test_checkpoints.py).
    path = tmp_path / "model.npz"
    _mlp().save(path)
    spec = _architecture(path)
    spec["model"]["layers"][1]["class"] = name
    _rewrite(path, spec)
    with pytest.raises(ValueError, match=r"load_model: expected a model entry \{'class': "
                                         r"'Model' or 'Sequential', .*, got "
                                         rf"\{{'class': '{name}'"):
        load_model(path)


def test_bad_files_give_value_errors(tmp_path):
    path = tmp_path / "model.npz"
    model = _mlp()
    model.save(path)
    first = model.layers[0].name
    bad_shape = tmp_path / "shape.npz"
    bad_shape.write_bytes(path.read_bytes())
    _rewrite(bad_shape, arrays={f"{first}/weights": np.zeros((5, 8), np.float32)})
    with pytest.raises(ValueError, match=rf"{first}/weights a float array of shape \(4, 8\)"):
        load_model(bad_shape)

    extra = tmp_path / "extra.npz"
    extra.write_bytes(path.read_bytes())
    _rewrite(extra, arrays={"nowhere/param0": np.zeros(2)})
    with pytest.raises(ValueError, match="expected arrays"):
        load_model(extra)

    config = tmp_path / "config.npz"
    config.write_bytes(path.read_bytes())
    spec = _architecture(path)
    spec["model"]["layers"][0]["config"]["input_size"] = -1
    _rewrite(config, spec)
    with pytest.raises(ValueError, match="expected a valid configuration for layer 0 "
                                         r"\(Dense\)"):
        load_model(config)

    unknown_kwarg = tmp_path / "kwarg.npz"
    unknown_kwarg.write_bytes(path.read_bytes())
    spec = _architecture(path)
    spec["model"]["layers"][1]["config"]["shell"] = "rm -rf /"
    _rewrite(unknown_kwarg, spec)
    with pytest.raises(ValueError, match="layer 1 \\(ReLU\\)"):
        load_model(unknown_kwarg)

    version = tmp_path / "version.npz"
    version.write_bytes(path.read_bytes())
    spec = _architecture(path)
    spec["version"] = 99
    _rewrite(version, spec)
    with pytest.raises(ValueError, match="expected format version 3 or older, got 99: the file "
                                         "was written by a newer retrograd"):
        load_model(version)

    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, architecture=np.array([{"class": "Dense"}], dtype=object))
    with pytest.raises(ValueError):
        load_model(pickled)

    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="load_model: expected a .npz file"):
        load_model(junk)


# ---- validation ---------------------------------------------------------------------------------
@pytest.mark.parametrize("layers, error, message", [
    ([], ValueError, "Sequential: expected at least one layer, got 'an empty list'"),
    ([Dense(2, 2), "relu"], TypeError, "Sequential: expected a Layer at position 1, got 'str'"),
    (Dense(2, 2), TypeError, "Sequential: expected a list of layers, got 'Dense'"),
])
def test_constructor_refuses_bad_layer_lists(layers, error, message):
    with pytest.raises(error, match=message):
        Sequential(layers)


def test_training_and_evaluating_an_uncompiled_model_is_refused():
    x, y = _blobs(4)
    model = _mlp()
    for call in (lambda: model.fit(x, y), lambda: model.train_step(x, y),
                 lambda: model.evaluate(x, y)):
        with pytest.raises(RuntimeError, match="expected a compiled model"):
            call()


@pytest.mark.parametrize("kwargs, error, message", [
    ({"y": np.zeros(5, int)}, ValueError,
     "Sequential.fit: expected x and y with the same number of samples, got '6 and 5'"),
    ({"epochs": 0}, ValueError, "Sequential.fit: expected epochs a positive integer, got 0"),
    ({"batch_size": 2.5}, ValueError, "expected batch_size a positive integer, got 2.5"),
    ({"verbose": 2}, ValueError, "expected verbose 0 or 1, got 2"),
    ({"validation_data": np.zeros(3)}, TypeError, "expected validation_data as a pair"),
    ({"validation_data": (np.zeros((3, 4)), np.zeros(2, int))}, ValueError,
     "expected validation_data with the same number of samples, got '3 and 2'"),
    ({"callbacks": [print]}, TypeError, "expected callbacks that are Callback instances"),
])
def test_fit_refuses_bad_arguments(kwargs, error, message):
    x, y = _blobs(6)
    args = {"x": x, "y": y, "verbose": 0, **kwargs}
    with pytest.raises(error, match=message):
        _compiled().fit(**args)


def test_evaluate_and_predict_refuse_bad_input():
    model = _compiled()
    with pytest.raises(ValueError, match="Sequential.evaluate: expected x and y with the same"):
        model.evaluate(np.zeros((3, 4)), np.zeros(4, int))
    with pytest.raises(ValueError, match="Sequential.predict: expected a non-empty batch"):
        model.predict(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="Dense: expected input of shape \\(N, 4\\)"):
        model.predict(np.zeros((3, 5)))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"loss": "mse"}, TypeError, "expected a loss with forward and backward methods, got 'str'"),
    ({"optimizer": 0.1}, TypeError, "expected an optimizer with a step method, got 'float'"),
    ({"metrics": "accuracy"}, TypeError, "expected metrics as a list or tuple"),
    ({"metrics": ("f1",)}, ValueError, "metrics: expected a metric name in"),
])
def test_compile_refuses_bad_arguments(kwargs, error, message):
    args = {"loss": MeanSquaredError(), "optimizer": SGD(), **kwargs}
    with pytest.raises(error, match=message):
        _mlp().compile(**args)


# ---- the digits MLP -------------------------------------------------------------------------------
def test_mlp_reaches_95_percent_on_the_digits_on_both_backends():
    """64-128-10 ReLU MLP, SGD lr 0.1, batch 32, 50 epochs, on the 80/20 stratified split
    (seed 0): about 96% test accuracy, in well under a second per backend."""
    x, y = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(x.reshape(-1, 64), y, 0.2,
                                                        stratify=y, seed=0)
    start = time.perf_counter()
    for backend in BACKENDS:
        model = Sequential([Dense(64, 128, seed=0), ReLU(), Dense(128, 10, seed=1)])
        _compiled(model, lr=0.1)
        with retrograd.use_backend(backend):
            model.fit(x_train, y_train, epochs=50, batch_size=32, seed=0, verbose=0)
            result = model.evaluate(x_test, y_test)
        assert result["accuracy"] >= 0.95, (backend, result)
    assert time.perf_counter() - start < 30
