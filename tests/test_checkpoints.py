"""Checkpoints: save / load_model with the optimizer, exact resumption with
fit(initial_epoch=...), older and newer format versions, damaged and foreign files,
and interrupted saves."""
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import retrograd
from retrograd import Sequential, load_model
from retrograd.callbacks import ModelCheckpoint
from retrograd.datasets import ImageAugmenter
from retrograd.layers import Dense, Flatten, ReLU
from retrograd.losses import Huber, Loss, SparseCategoricalCrossEntropy
from retrograd.optimizers import SGD, Adam, Momentum, Nadam
from retrograd.schedules import ExponentialDecay

BACKENDS = ["numpy"] + (["native"] if retrograd.native_available() else [])


def _model(optimizer, dtype=np.float32):
    model = Sequential([Dense(4, 8, seed=0, dtype=dtype), ReLU(dtype=dtype),
                        Dense(8, 3, seed=1, dtype=dtype)])
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
        assert not any(key.startswith("optimizer_") for key in archive.files)


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


def test_a_version_1_file_still_loads(tmp_path):
    model = _model(SGD())
    model.save(tmp_path / "m.npz")
    contents = _contents(tmp_path / "m.npz")
    spec = json.loads(str(contents["architecture"]))
    assert spec["version"] == 2
    spec["version"] = 1              # version 1 files differ only by this number
    _write(tmp_path / "v1.npz", contents, spec)
    _assert_same_weights(load_model(tmp_path / "v1.npz"), model)


@pytest.mark.parametrize("version, message", [
    (3, "expected format version 2 or older, got 3: the file was written by a newer retrograd"),
    (0, "expected format version 1 to 2, got 0"),
    ("2", "expected format version 1 to 2, got '2'"),
    (True, "expected format version 1 to 2, got True"),
])
def test_unknown_format_versions_are_refused(tmp_path, version, message):
    _model(SGD()).save(tmp_path / "m.npz")
    contents = _contents(tmp_path / "m.npz")
    spec = json.loads(str(contents["architecture"]))
    spec["version"] = version
    _write(tmp_path / "m.npz", contents, spec)
    with pytest.raises(ValueError, match="load_model: " + message):
        load_model(tmp_path / "m.npz")


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
    (lambda p: np.save(p, np.zeros(3)), "expected a .npz archive written by Sequential.save"),
    (lambda p: np.savez(p, architecture=np.array(json.dumps({"format": "keras"}))),
     "expected an architecture of format 'retrograd.Sequential'"),
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
    (lambda t, c: c.pop("optimizer_m_0_0"), r"expected arrays \["),
    (lambda t, c: c.update(optimizer_v_1_1=c["optimizer_v_1_1"].astype(np.float64)),
     r"expected optimizer_v_1_1 a float32 array of shape \(3,\)"),
    (lambda t, c: c.update(optimizer_m_0_0=np.zeros((8, 4), np.float32)),
     r"expected optimizer_m_0_0 a float32 array of shape \(4, 8\)"),
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
