"""Checkpoints: save / load_model with the optimizer, exact resumption with
fit(initial_epoch=...), older and newer format versions, damaged and foreign files,
and interrupted saves."""
import io
import json
import os
import pathlib
import struct
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import retrograd
from retrograd import Input, Model, Sequential, load_model
from retrograd.callbacks import ModelCheckpoint
from retrograd.datasets import ImageAugmenter
from retrograd.layers import (Add, Concatenate, Dense, Dropout, Flatten, NoisyReLU, ReLU,
                              RReLU, Sigmoid)
from retrograd.losses import Huber, Loss, MeanSquaredError, SparseCategoricalCrossEntropy
from retrograd.optimizers import SGD, Adam, Momentum, Nadam
from retrograd.schedules import ExponentialDecay

BACKENDS = ["numpy"] + (["native"] if retrograd.native_available() else [])


def _model(optimizer, dtype=np.float32):
    # Named layers: the file's keys are "hidden/weights", "optimizer/m/out/biases"...
    model = Sequential([Dense(4, 8, seed=0, dtype=dtype, name="hidden"), ReLU(dtype=dtype),
                        Dense(8, 3, seed=1, dtype=dtype, name="out")])
    return model.compile(SparseCategoricalCrossEntropy(from_logits=True), optimizer)


def _blobs(n=40, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    x = (rng.normal(size=(n, 4)) * 0.3 + np.eye(4)[y] * 2).astype(np.float32)
    return x, y


def _assert_same_weights(a, b):
    mine, theirs = a.get_weights(), b.get_weights()
    assert len(mine) == len(theirs)
    for p, q in zip(mine, theirs):
        np.testing.assert_array_equal(p, q)


# ---- round trip with the optimizer ---------------------------------------------------------------
def test_save_with_the_optimizer_restores_loss_metrics_and_optimizer_state(tmp_path):
    x, y = _blobs()
    model = _model(Nadam(0.01, clipnorm=1.0))
    model.fit(x, y, epochs=2, batch_size=16, seed=0, verbose=0)
    model.save(tmp_path / "m.npz", include_optimizer=True)
    loaded = load_model(tmp_path / "m.npz")
    _assert_same_weights(loaded, model)
    assert type(loaded.loss) is SparseCategoricalCrossEntropy
    assert loaded.loss.get_config() == model.loss.get_config()
    assert list(loaded.metrics) == ["accuracy"]
    opt = loaded.optimizer
    assert type(opt) is Nadam and opt.get_config() == model.optimizer.get_config()
    assert opt.t == model.optimizer.t == 6
    assert opt.mu_product == model.optimizer.mu_product
    for name in ("m", "v"):
        mine = [a for group in opt.state[name] for a in group]
        theirs = [a for group in model.optimizer.state[name] for a in group]
        assert len(mine) == len(theirs) == 4
        for a, b in zip(mine, theirs):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype


def test_an_optimizer_before_its_first_step_and_a_schedule_round_trip(tmp_path):
    schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    model = Sequential([Dense(2, 2, seed=0, dtype=np.float64)]).compile(
        Huber(delta=2.0), Momentum(schedule, momentum=0.8), metrics=())
    model.save(tmp_path / "m.npz", include_optimizer=True)
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.optimizer.t == 0 and loaded.optimizer.state == {}
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert type(loaded.loss) is Huber and loaded.loss.delta == 2.0 and loaded.metrics == {}


def test_save_without_the_optimizer_gives_an_uncompiled_model(tmp_path):
    model = _model(Adam())
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.loss is None and loaded.optimizer is None
    with np.load(tmp_path / "m.npz") as archive:
        assert sorted(archive.files) == ["architecture", "hidden/biases", "hidden/weights",
                                         "out/biases", "out/weights"]
        assert "training" not in json.loads(str(archive["architecture"]))


def test_saving_the_training_state_needs_a_compiled_model_with_library_classes(tmp_path):
    with pytest.raises(RuntimeError, match="Sequential.save: expected a compiled model"):
        Sequential([Dense(2, 2)]).save(tmp_path / "m.npz", include_optimizer=True)

    class MyLoss(Loss):
        def forward(self, y_pred, y_true):
            return 0.0

        def backward(self, y_pred, y_true):
            return np.zeros_like(y_pred)

    model = Sequential([Dense(2, 2)]).compile(MyLoss(), SGD())
    with pytest.raises(TypeError, match="Sequential.save: expected a loss class of "
                                        r"retrograd.losses to save it \(or "
                                        "include_optimizer=False\\), got 'MyLoss'"):
        model.save(tmp_path / "m.npz", include_optimizer=True)
    assert list(tmp_path.iterdir()) == []


# ---- resuming ----------------------------------------------------------------------------------
def _resume(tmp_path, optimizer, epochs=4, split=2, **fit):
    """(uninterrupted model, its losses, resumed model, its losses) for one configuration."""
    x, y = _blobs(44)
    fit = {"batch_size": 8, "seed": 7, "verbose": 0, "validation_data": (x[:12], y[:12]),
           **fit}
    whole = _model(optimizer())
    whole_history = whole.fit(x, y, epochs=epochs, **fit).history
    first = _model(optimizer())
    first_history = first.fit(x, y, epochs=split, **fit).history
    first.save(tmp_path / "ckpt.npz", include_optimizer=True)
    resumed = load_model(tmp_path / "ckpt.npz")
    second = resumed.fit(x, y, epochs=epochs, initial_epoch=split, **fit)
    assert second.epoch == list(range(split, epochs))
    curve = {key: first_history[key] + second.history[key] for key in whole_history}
    return whole, whole_history, resumed, curve


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("optimizer", [lambda: Adam(0.01), lambda: Nadam(0.01),
                                       lambda: Momentum(0.05)], ids=["Adam", "Nadam", "Momentum"])
def test_resuming_from_a_checkpoint_repeats_the_uninterrupted_run_bit_for_bit(
        tmp_path, backend, optimizer, restore_num_threads):
    retrograd.set_num_threads(2)
    with retrograd.use_backend(backend):
        whole, whole_history, resumed, curve = _resume(tmp_path, optimizer)
    assert curve == whole_history
    _assert_same_weights(resumed, whole)
    assert resumed.optimizer.t == whole.optimizer.t


def test_resuming_with_augmentation_and_checkpoint_files_repeats_the_run(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(30, 4, 4, 1)).astype(np.float32)
    y = rng.integers(0, 3, size=30)

    def build():
        model = Sequential([Flatten(), Dense(16, 3, seed=0)])
        return model.compile(SparseCategoricalCrossEntropy(from_logits=True), Adam(0.01))

    fit = {"batch_size": 8, "seed": 3, "verbose": 0, "augment": ImageAugmenter(1, True, seed=4)}
    whole = build()
    expected = whole.fit(x, y, epochs=3, **fit).history["loss"]
    first = build()
    losses = first.fit(x, y, epochs=3, callbacks=[ModelCheckpoint(tmp_path / "c-{epoch}.npz")],
                       **fit).history["loss"][:1]
    # The file of epoch 1 holds the weights and optimizer state after one epoch.
    restored = load_model(tmp_path / "c-1.npz")
    losses += restored.fit(x, y, epochs=3, initial_epoch=1, **fit).history["loss"]
    assert losses == expected
    _assert_same_weights(restored, whole)


# ---- format versions -----------------------------------------------------------------------------
def _contents(path):
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _write(path, contents, architecture=None):
    if architecture is not None:
        contents = {**contents, "architecture": np.array(json.dumps(architecture))}
    np.savez(path, **contents)


def _legacy_copy(model, path, out, version):
    """The format 3 file ``path`` of the Sequential ``model`` rewritten to ``out`` as
    format ``version`` (1 or 2) laid it out: a list of layers (class and config) and
    arrays keyed by position, "layer<i>_param<j>" and "optimizer_<slot>_<i>_<j>"."""
    contents = _contents(path)
    spec = json.loads(str(contents.pop("architecture")))
    legacy = {"format": "retrograd.Sequential", "version": version,
              "layers": [{"class": item["class"], "config": item["config"]}
                         for item in spec["model"]["layers"]]}
    arrays = {}
    for i, layer in enumerate(model.layers):
        for j, name in enumerate(layer.param_names[:len(layer.params)]):
            arrays[f"layer{i}_param{j}"] = contents.pop(f"{layer.name}/{name}")
    if version >= 2 and "training" in spec:
        legacy["training"] = {key: value for key, value in spec["training"].items()
                              if key != "loss_weights"}
        groups = [layer for layer in model.layers if layer.params]
        for slot in spec["training"]["optimizer"]["slots"]:
            for i, layer in enumerate(groups):
                for j, name in enumerate(layer.param_names):
                    arrays[f"optimizer_{slot}_{i}_{j}"] = contents.pop(
                        f"optimizer/{slot}/{layer.name}/{name}")
    assert contents == {}, sorted(contents)
    _write(out, arrays, legacy)


def test_a_version_1_file_still_loads(tmp_path):
    model = _model(SGD())
    model.save(tmp_path / "m.npz")
    assert json.loads(str(_contents(tmp_path / "m.npz")["architecture"]))["version"] == 3
    _legacy_copy(model, tmp_path / "m.npz", tmp_path / "v1.npz", 1)
    loaded = load_model(tmp_path / "v1.npz")
    _assert_same_weights(loaded, model)
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    assert loaded.loss is None and loaded.optimizer is None


def test_a_version_2_file_still_loads_with_its_training_state(tmp_path):
    x, y = _blobs()
    model = _model(Nadam(0.01))
    model.fit(x, y, epochs=2, batch_size=16, seed=0, verbose=0)
    model.save(tmp_path / "m.npz", include_optimizer=True)
    _legacy_copy(model, tmp_path / "m.npz", tmp_path / "v2.npz", 2)
    loaded = load_model(tmp_path / "v2.npz")
    _assert_same_weights(loaded, model)
    assert type(loaded.optimizer) is Nadam and loaded.optimizer.t == model.optimizer.t == 6
    assert loaded.optimizer.mu_product == model.optimizer.mu_product
    for name in ("m", "v"):
        for mine, theirs in zip(loaded.optimizer.state[name], model.optimizer.state[name]):
            for a, b in zip(mine, theirs):
                np.testing.assert_array_equal(a, b)
    # Both continue alike.
    assert loaded.train_step(x, y) == model.train_step(x, y)
    _assert_same_weights(loaded, model)


FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def _fixture():
    """(contents of the committed format 2 file, its architecture, x, y, expected predict)."""
    contents = _contents(FIXTURES / "model_v2.npz")
    expected = _contents(FIXTURES / "model_v2_expected.npz")
    return (contents, json.loads(str(contents["architecture"])), expected["x"], expected["y"],
            expected["predict"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_committed_version_2_file_loads_compiled_and_predicts_as_when_saved(backend):
    _, spec, x, _, expected = _fixture()
    assert spec["format"] == "retrograd.Sequential" and spec["version"] == 2
    model = load_model(FIXTURES / "model_v2.npz")
    assert type(model) is Sequential
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "ReLU", "MaxPooling2D", "Flatten", "Dropout", "Dense"]
    assert type(model.loss) is SparseCategoricalCrossEntropy and model.loss.from_logits
    assert list(model.metrics) == ["accuracy"]
    assert type(model.optimizer) is Adam and model.optimizer.t == 3
    for slot in ("m", "v"):
        state = model.optimizer.state[slot]
        assert [[a.shape for a in group] for group in state] == [
            [(3, 1, 3, 3), (3,)], [(48, 5), (5,)]]
        assert all(np.any(a != 0) for group in state for a in group)
    with retrograd.use_backend(backend):
        np.testing.assert_allclose(model.predict(x), expected, rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_training_continues_from_the_committed_version_2_file(tmp_path, backend):
    _, _, x, y, _ = _fixture()
    model = load_model(FIXTURES / "model_v2.npz")
    with retrograd.use_backend(backend):
        loss = model.train_step(x, y)
        assert np.isfinite(loss) and model.optimizer.t == 4
        # Saved again it is a format 3 file that gives back the same model and state.
        model.save(tmp_path / "v3.npz", include_optimizer=True)
        assert json.loads(str(_contents(tmp_path / "v3.npz")["architecture"]))["version"] == 3
        again = load_model(tmp_path / "v3.npz")
        _assert_same_weights(again, model)
        assert again.optimizer.t == 4
        assert again.train_step(x, y) == model.train_step(x, y)
    _assert_same_weights(again, model)


def test_a_version_1_file_derived_from_the_committed_version_2_file_loads(tmp_path):
    contents, spec, x, _, expected = _fixture()
    spec["version"] = 1
    del spec["training"]
    arrays = {key: a for key, a in contents.items()
              if key != "architecture" and not key.startswith("optimizer_")}
    assert sorted(arrays) == ["layer0_param0", "layer0_param1", "layer5_param0", "layer5_param1"]
    _write(tmp_path / "v1.npz", arrays, spec)
    v1 = load_model(tmp_path / "v1.npz")
    assert v1.loss is None and v1.optimizer is None
    _assert_same_weights(v1, load_model(FIXTURES / "model_v2.npz"))
    np.testing.assert_allclose(v1.predict(x), expected, rtol=1e-6)


def test_a_training_section_in_the_committed_file_made_version_1_is_refused(tmp_path):
    contents, spec, *_ = _fixture()
    spec["version"] = 1
    _write(tmp_path / "m.npz", contents, spec)
    with pytest.raises(ValueError, match="load_model: expected no training section in a "
                                         "version 1 file, got 'a training section'"):
        load_model(tmp_path / "m.npz")


@pytest.mark.parametrize("change, message", [
    (lambda s: s["layers"][1].update({"class": "Sequential"}),
     "expected layer 1 a layer class of retrograd.layers, got 'Sequential'"),
    (lambda s: s["layers"][1].update({"class": "Model"}),
     "expected layer 1 a layer class of retrograd.layers, got 'Model'"),
    (lambda s: s["layers"][5]["config"].update(input_size=47),
     r"expected layer5_param0 a float array of shape \(47, 5\)"),
    (lambda s: s.update(layers={"0": {}}),
     "expected an architecture of format 'retrograd.Model' with a model \\(or "
     "'retrograd.Sequential' with a list of layers\\), got \"format 'retrograd.Sequential' "
     "with layers of type dict\""),
    (lambda s: s.pop("layers"),
     "expected an architecture of format 'retrograd.Model' with a model \\(or "
     "'retrograd.Sequential' with a list of layers\\), got \"format 'retrograd.Sequential' "
     "without layers\""),
    (lambda s: s.update(version=3), "expected format 'retrograd.Sequential' for versions 1 and "
                                    "2, 'retrograd.Model' for 3, got \"'retrograd.Sequential' "
                                    "version 3\""),
    (lambda s: s["training"].update(loss_weights=None), "expected a training section"),
])
def test_a_tampered_version_2_file_is_refused(tmp_path, change, message):
    contents, spec, *_ = _fixture()
    change(spec)
    _write(tmp_path / "m.npz", contents, spec)
    with pytest.raises(ValueError, match="load_model: " + message) as info:
        load_model(tmp_path / "m.npz")
    assert repr(str(tmp_path / "m.npz")) in str(info.value)


@pytest.mark.parametrize("version, message", [
    (4, "expected format version 3 or older, got 4: the file was written by a newer retrograd"),
    (0, "expected format version 1 to 3, got 0"),
    ("3", "expected format version 1 to 3, got '3'"),
    (True, "expected format version 1 to 3, got True"),
    (3.0, "expected format version 1 to 3, got 3.0"),
    (2, "expected format 'retrograd.Sequential' for versions 1 and 2, 'retrograd.Model' for 3"),
    (1, "expected format 'retrograd.Sequential' for versions 1 and 2, 'retrograd.Model' for 3"),
])
def test_unknown_format_versions_are_refused(tmp_path, version, message):
    _model(SGD()).save(tmp_path / "m.npz")
    contents = _contents(tmp_path / "m.npz")
    spec = json.loads(str(contents["architecture"]))
    spec["version"] = version
    _write(tmp_path / "m.npz", contents, spec)
    with pytest.raises(ValueError, match="load_model: " + message):
        load_model(tmp_path / "m.npz")


# ---- format 3: graphs, names, flags and generator states ----------------------------------------
def _shared_graph():
    """A Model calling one Dense at two nodes, with a fan-out of its first output."""
    x = Input((4,), name="x")
    shared = Dense(4, 4, seed=0, name="shared")
    h = shared(x)
    merged = Add(name="add")([ReLU(name="relu")(h), Sigmoid(name="gate")(h)])
    y = Dense(4, 3, seed=1, name="head")(shared(merged))
    model = Model(x, y, name="net")
    return model.compile(SparseCategoricalCrossEntropy(from_logits=True), Adam(0.01))


def test_a_shared_layer_is_saved_once_and_reloads_to_the_same_model(tmp_path):
    x, y = _blobs(16)
    model = _shared_graph()
    model.train_step(x, y)
    model.save(tmp_path / "m.npz", include_optimizer=True)
    contents = _contents(tmp_path / "m.npz")
    spec = json.loads(str(contents.pop("architecture")))
    params = ["head/biases", "head/weights", "shared/biases", "shared/weights"]
    assert sorted(contents) == sorted([*params, *(f"optimizer/{slot}/{key}" for slot in "mv"
                                                  for key in params)])
    assert spec["model"]["class"] == "Model" and spec["model"]["name"] == "net"
    assert [item["name"] for item in spec["model"]["layers"]] == [
        "shared", "relu", "gate", "add", "head"]
    assert [node["layer"] for node in spec["model"]["nodes"]] == [
        "shared", "relu", "gate", "add", "shared", "head"]
    assert spec["model"]["inputs"] == [{"name": "x", "shape": [4], "dtype": "float32"}]
    assert spec["model"]["outputs"] == [["node", 5, 0]]
    loaded = load_model(tmp_path / "m.npz")
    assert type(loaded) is Model and loaded.name == "net"
    steps = [step.layer for step in loaded._steps]
    assert steps[0] is steps[4] and len(loaded.params) == 2
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    # The shared layer's two gradients are summed alike: training continues identically.
    assert loaded.train_step(x, y) == model.train_step(x, y)
    _assert_same_weights(loaded, model)


def test_several_inputs_and_outputs_with_loss_weights_round_trip(tmp_path):
    a, b = Input((4,), name="a"), Input((4,), name="b")
    h = Concatenate(name="cat")([Dense(4, 5, seed=0, name="da")(a), b])
    first, second = Dense(9, 3, seed=1, name="p")(h), Dense(9, 2, seed=2, name="q")(h)
    model = Model([a, b], [first, second], name="two").compile(
        [SparseCategoricalCrossEntropy(from_logits=True), MeanSquaredError()], SGD(0.1),
        metrics=(), loss_weights=[0.25, 2.0])
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(6, 4)).astype(np.float32) for _ in range(2)]
    ys = [rng.integers(0, 3, size=6), rng.normal(size=(6, 2)).astype(np.float32)]
    model.train_step(xs, ys)
    model.save(tmp_path / "m.npz", include_optimizer=True)
    loaded = load_model(tmp_path / "m.npz")
    assert [type(loss) for loss in loaded.loss] == [SparseCategoricalCrossEntropy,
                                                     MeanSquaredError]
    assert loaded.loss_weights == [0.25, 2.0]
    for mine, theirs in zip(loaded.predict(xs), model.predict(xs)):
        np.testing.assert_array_equal(mine, theirs)
    assert loaded.train_step(xs, ys) == model.train_step(xs, ys)
    _assert_same_weights(loaded, model)


def test_names_and_trainable_flags_round_trip(tmp_path):
    encoder = Sequential([Dense(4, 8, seed=0, name="enc_dense"), ReLU(name="enc_relu")],
                         name="encoder")
    x = Input((4,), name="features")
    frozen = Dense(8, 8, seed=1, name="frozen")
    frozen.trainable = False
    y = Dense(8, 3, seed=2, name="head")(frozen(encoder(x)))
    model = Model(x, y, name="classifier").compile(
        SparseCategoricalCrossEntropy(from_logits=True), Adam(0.01))
    encoder.trainable = False
    model.train_step(*_blobs(8))
    model.save(tmp_path / "m.npz", include_optimizer=True)
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.name == "classifier"
    assert [layer.name for layer in loaded.layers] == ["encoder", "frozen", "head"]
    assert [layer.trainable for layer in loaded.layers] == [False, False, True]
    inner = loaded.layers[0]
    assert type(inner) is Sequential and inner.name == "encoder"
    assert [(layer.name, layer.trainable) for layer in inner.layers] == [
        ("enc_dense", True), ("enc_relu", True)]
    assert loaded.trainable is True
    # Only the trainable head has optimizer state.
    keys = sorted(_contents(tmp_path / "m.npz"))
    assert [key for key in keys if key.startswith("optimizer/")] == [
        f"optimizer/{slot}/head/{name}" for slot in "mv" for name in ("biases", "weights")]
    assert len(loaded.params) == 1 and loaded.params[0][0] is loaded.layers[2].weights
    _assert_same_weights(loaded, model)
    x, y = _blobs(8, seed=1)
    assert loaded.train_step(x, y) == model.train_step(x, y)
    _assert_same_weights(loaded, model)


def _noisy(optimizer):
    model = Sequential([Dense(4, 16, seed=0), RReLU(seed=1), Dropout(0.3, seed=2),
                        Dense(16, 16, seed=3), NoisyReLU(seed=4), Dense(16, 3, seed=5)])
    return model.compile(SparseCategoricalCrossEntropy(from_logits=True), optimizer)


@pytest.mark.parametrize("backend", BACKENDS)
def test_generator_states_round_trip_so_that_noisy_layers_resume_bit_for_bit(tmp_path, backend):
    x, y = _blobs(44)
    fit = {"batch_size": 8, "seed": 7, "verbose": 0}
    with retrograd.use_backend(backend):
        whole = _noisy(Adam(0.01))
        whole.fit(x, y, epochs=4, **fit)
        first = _noisy(Adam(0.01))
        first.fit(x, y, epochs=2, **fit)
        first.save(tmp_path / "ckpt.npz", include_optimizer=True)
        spec = json.loads(str(_contents(tmp_path / "ckpt.npz")["architecture"]))
        assert [item["class"] for item in spec["model"]["layers"] if "rng" in item] == [
            "RReLU", "Dropout", "NoisyReLU"]
        resumed = load_model(tmp_path / "ckpt.npz")
        resumed.fit(x, y, epochs=4, initial_epoch=2, **fit)
        _assert_same_weights(resumed, whole)
        # Without the saved generator states the layers start again from their seeds, and
        # the run differs: the states above are what made it identical.
        for item in spec["model"]["layers"]:
            item.pop("rng", None)
        _write(tmp_path / "reseeded.npz", _contents(tmp_path / "ckpt.npz"), spec)
        reseeded = load_model(tmp_path / "reseeded.npz")
        reseeded.fit(x, y, epochs=4, initial_epoch=2, **fit)
    assert not all(np.array_equal(p, q)
                   for p, q in zip(reseeded.get_weights(), whole.get_weights()))


# ---- damaged and foreign files -------------------------------------------------------------------
def _saved(tmp_path):
    path = tmp_path / "m.npz"
    model = _model(Adam())
    model.fit(*_blobs(8), verbose=0)
    model.save(path, include_optimizer=True)
    return path


def test_truncated_and_damaged_files_give_value_errors(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="load_model: expected a .npz file"):
            load_model(path)
    # A damaged byte inside any entry (npz entries are stored uncompressed, CRC-checked).
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
    for info in entries:
        # The entry's data follows its local header: 30 bytes, then name and extra field.
        name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
        start = info.header_offset + 30 + name_length + extra_length
        for position in (start + 3, start + info.compress_size // 2,
                         start + info.compress_size - 1):
            damaged = bytearray(data)
            damaged[position] ^= 0xFF
            path.write_bytes(bytes(damaged))
            with pytest.raises(ValueError, match="load_model: expected"):
                load_model(path)


@pytest.mark.parametrize("make, message", [
    (lambda p: np.savez(p, weights=np.zeros(3)), "expected an 'architecture' entry"),
    (lambda p: np.save(p, np.zeros(3)), "expected a .npz archive written by Model.save"),
    (lambda p: np.savez(p, architecture=np.array(json.dumps({"format": "keras"}))),
     "expected an architecture of format 'retrograd.Model'"),
    (lambda p: np.savez(p, architecture=np.array("{not json")),
     "expected the architecture as JSON, got invalid JSON"),
    (lambda p: p.write_text('{"format": "retrograd.Sequential"}'), "expected a .npz file"),
])
def test_foreign_files_give_value_errors(tmp_path, make, message):
    path = tmp_path / "foreign.npz"
    make(path)
    if not path.exists():            # np.save appends .npy
        path = tmp_path / "foreign.npz.npy"
    with pytest.raises(ValueError, match="load_model: " + message):
        load_model(path)


def _tamper(path, change):
    contents = _contents(path)
    spec = json.loads(str(contents["architecture"]))
    change(spec["training"], contents)
    _write(path, contents, spec)


@pytest.mark.parametrize("change, message", [
    (lambda t, c: t["optimizer"].update(class_name="os"),
     "expected an optimizer class of retrograd.optimizers, got 'os'"),
    (lambda t, c: t["optimizer"].update(class_name="Optimizer"),
     "expected a valid training configuration"),
    (lambda t, c: t["optimizer"].update(class_name="SGD"),
     "expected a valid training configuration"),
    (lambda t, c: t["loss"].update(class_name="Loss2"),
     "expected a loss class of retrograd.losses, got 'Loss2'"),
    (lambda t, c: t["loss"]["config"].update(reduction="sum"),
     "expected a valid training configuration"),
    (lambda t, c: t["optimizer"].update(t=-1), "expected a valid training configuration"),
    (lambda t, c: t["optimizer"]["config"].update(beta_1=2.0),
     "expected a valid training configuration"),
    (lambda t, c: t["metrics"].append("nonsense"), "expected a valid training configuration"),
    (lambda t, c: t.pop("metrics"), "expected a training section"),
    (lambda t, c: c.pop("optimizer/m/hidden/weights"), r"expected arrays \["),
    (lambda t, c: c.update({"optimizer/v/out/biases":
                            c["optimizer/v/out/biases"].astype(np.float64)}),
     r"expected optimizer/v/out/biases a float32 array of shape \(3,\)"),
    (lambda t, c: c.update({"optimizer/m/hidden/weights": np.zeros((8, 4), np.float32)}),
     r"expected optimizer/m/hidden/weights a float32 array of shape \(4, 8\)"),
    # State for a slot the optimizer does not have, and a slot without its state.
    (lambda t, c: c.update({"optimizer/w/out/biases": c["optimizer/v/out/biases"]}),
     r"expected arrays \["),
    (lambda t, c: t["optimizer"]["slots"].append("w"), r"expected arrays \["),
    (lambda t, c: t["optimizer"].update(slots="m"), "expected the optimizer's slots as a list"),
    (lambda t, c: t.update(loss_weights=[2.0, 1.0]), "expected a valid training configuration"),
    (lambda t, c: t.pop("loss_weights"), "expected a training section"),
])
def test_tampered_training_sections_give_value_errors(tmp_path, change, message):
    path = _saved(tmp_path)
    _tamper(path, change)
    with pytest.raises(ValueError, match="load_model: " + message):
        load_model(path)


def test_a_training_section_in_a_version_1_file_is_refused(tmp_path):
    path = _saved(tmp_path)
    contents = _contents(path)
    spec = json.loads(str(contents["architecture"]))
    spec["version"] = 1
    _write(path, contents, spec)
    with pytest.raises(ValueError, match="expected no training section in a version 1 file"):
        load_model(path)


# ---- interrupted saves ---------------------------------------------------------------------------
def test_a_failing_rename_keeps_the_previous_checkpoint_and_leaves_no_temporary_file(
        tmp_path, monkeypatch):
    path = _saved(tmp_path)
    good = path.read_bytes()
    model = _model(Adam(0.5))
    model.fit(*_blobs(8), verbose=0)

    def killed(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        model.save(path, include_optimizer=True)
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    assert load_model(path).optimizer.t == 1


def test_a_process_killed_between_write_and_rename_keeps_the_previous_checkpoint(tmp_path):
    path = _saved(tmp_path)
    good = path.read_bytes()
    script = textwrap.dedent(f"""
        import os, sys
        import numpy as np
        from retrograd import Sequential
        from retrograd.layers import Dense

        def kill(src, dst):
            # The temporary file is complete here: die before the rename, as a kill would.
            assert os.path.getsize(src) > 0
            os._exit(3)

        os.replace = kill
        Sequential([Dense(4, 8, seed=5)]).save({str(path)!r})
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 3, result.stderr
    assert path.read_bytes() == good
    assert load_model(path).optimizer.t == 1
    # Only a hidden temporary file is left beside it, which load_model never reads.
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "m.npz"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".m.npz.")
