"""Saving and loading under faults (issue 6, "Files").

A save that fails (disk full, a file-size limit, a failing fsync, a process killed while
writing) leaves the previous checkpoint byte for byte intact and no temporary file
behind (except after a kill, where a hidden one may stay), and reports an OSError naming
the file.  load_model refuses anything Model.save did not write -- truncated,
damaged, random or foreign bytes, zips with foreign members, pickle payloads, JSON naming
classes that are not retrograd layers (dotted paths to os.system...), mismatched shapes,
wrong versions, missing keys -- with a ValueError that names the file and says what was
expected: never another exception, never pickle, never code run from the file.

test_checkpoints.py and test_models.py hold the round trips and the first example of
several faults; this module adds the rest, with hypothesis drawing the damaged bytes.
"""
import errno
import io
import json
import os
import pickle
import re
import signal
import struct
import subprocess
import sys
import textwrap
import time
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import given, strategies as st

from retrograd import Input, Model, Sequential, load_model
from retrograd.callbacks import ModelCheckpoint
from retrograd.layers import Add, Dense, Dropout, ReLU, Sigmoid
from retrograd.losses import SparseCategoricalCrossEntropy
from retrograd.optimizers import Adam

# setrlimit and SIGKILL
posix_only = pytest.mark.skipif(os.name != "posix", reason="needs POSIX resource limits and signals")


def _model(seed=0, width=8):
    # Named layers: the file's keys are "hidden/weights", "optimizer/m/out/biases"...
    model = Sequential([Dense(4, width, seed=seed, name="hidden"), ReLU(),
                        Dense(width, 3, seed=seed + 1, name="out")])
    return model.compile(SparseCategoricalCrossEntropy(from_logits=True), Adam(0.01))


def _trained(seed=0):
    """A model after one Adam step, so that its file holds optimizer state too."""
    model = _model(seed)
    rng = np.random.default_rng(seed)
    model.train_step(rng.normal(size=(8, 4)).astype(np.float32), rng.integers(0, 3, size=8))
    return model


def _assert_same(a, b):
    assert len(a.get_weights()) == len(b.get_weights())
    for p, q in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(p, q)


def _refused(path, match):
    """load_model(path) raises a ValueError matching ``match`` that names the file."""
    with pytest.raises(ValueError, match=match) as info:
        load_model(path)
    assert repr(os.fspath(path)) in str(info.value)
    return info.value


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """(bytes of a checkpoint saved with the optimizer, the model it holds)."""
    path = tmp_path_factory.mktemp("checkpoint") / "m.npz"
    model = _trained()
    model.save(path, include_optimizer=True)
    return path.read_bytes(), model


def _graph():
    """A Model after one Adam step: "shared" called at nodes 0 and 4, its first output
    fanned out to two layers, and a Dropout whose generator state the file holds.
    Layers: shared, relu, gate, add, drop, head; nodes: shared, relu, gate, add,
    shared, drop, head."""
    x = Input((4,), name="x")
    shared = Dense(4, 4, seed=0, name="shared")
    h = shared(x)
    merged = Add(name="add")([ReLU(name="relu")(h), Sigmoid(name="gate")(h)])
    y = Dense(4, 3, seed=1, name="head")(Dropout(0.25, seed=3, name="drop")(shared(merged)))
    model = Model(x, y, name="net").compile(SparseCategoricalCrossEntropy(from_logits=True),
                                            Adam(0.01))
    rng = np.random.default_rng(0)
    model.train_step(rng.normal(size=(8, 4)).astype(np.float32), rng.integers(0, 3, size=8))
    return model


@pytest.fixture(scope="module")
def graph_checkpoint(tmp_path_factory):
    """(bytes of _graph()'s file saved with the optimizer, the model it holds)."""
    path = tmp_path_factory.mktemp("graph") / "g.npz"
    model = _graph()
    model.save(path, include_optimizer=True)
    return path.read_bytes(), model


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A file for the hypothesis tests to overwrite, one example after another."""
    return tmp_path_factory.mktemp("scratch") / "bad.npz"


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def _write_zip(path, members, compression=zipfile.ZIP_STORED):
    """A zip of (name, bytes) pairs in this order; names may repeat."""
    with zipfile.ZipFile(path, "w", compression) as archive, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)
        for name, data in members:
            archive.writestr(name, data)


def _npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _with_architecture(data, change):
    """The members of ``data`` with the architecture JSON passed through ``change``."""
    members = _members(data)
    spec = json.loads(str(np.load(io.BytesIO(dict(members)["architecture.npy"]))))
    spec = change(spec)
    text = spec if isinstance(spec, str) else json.dumps(spec)
    return [(name, _npy(np.array(text)) if name == "architecture.npy" else blob)
            for name, blob in members]


# ---- saving under faults -------------------------------------------------------------------
_SAVE_UNDER_A_LIMIT = textwrap.dedent("""
    import json, os, resource, sys
    import numpy as np
    from retrograd import Sequential
    from retrograd.layers import Dense, ReLU
    from retrograd.losses import SparseCategoricalCrossEntropy
    from retrograd.optimizers import Adam

    path, limits = sys.argv[1], json.loads(sys.argv[2])
    model = Sequential([Dense(4, 64, seed=5), ReLU(), Dense(64, 3, seed=6)]).compile(
        SparseCategoricalCrossEntropy(from_logits=True), Adam(0.01))
    model.train_step(np.ones((2, 4), np.float32), np.array([0, 1]))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    results = []
    for limit in limits:
        # Writing past the limit fails with EFBIG (Python ignores SIGXFSZ), as a full disk
        # fails with ENOSPC: at whichever write reaches it.
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
        try:
            model.save(path, include_optimizer=True)
            results.append({"errno": None})
        except OSError as exc:
            results.append({"errno": exc.errno, "message": str(exc)})
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        results[-1]["files"] = sorted(os.listdir(os.path.dirname(path)))
    print(json.dumps(results))
""")


@posix_only
def test_a_file_size_limit_reached_anywhere_in_a_save_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "m.npz"
    _trained().save(path, include_optimizer=True)
    good = path.read_bytes()
    # The child's model is bigger than this one: every limit below cuts its save short,
    # from the first byte to the last.
    limits = [0, 1, 100, len(good) // 2, len(good)]
    out = subprocess.run([sys.executable, "-c", _SAVE_UNDER_A_LIMIT, str(path), json.dumps(limits)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert len(results) == len(limits)
    for limit, result in zip(limits, results):
        assert result["errno"] == errno.EFBIG, (limit, result)
        assert repr(str(path)) in result["message"] and "Sequential.save" in result["message"]
        assert result["files"] == ["m.npz"], (limit, result)      # no temporary file left
    assert path.read_bytes() == good
    _assert_same(load_model(path), _trained())


def test_a_failing_fsync_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    # A full disk can show only when the data is flushed (delayed allocation, NFS).
    path = tmp_path / "m.npz"
    _trained().save(path, include_optimizer=True)
    good = path.read_bytes()

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError, match=re.escape(repr(str(path)))) as info:
        _trained(seed=3).save(path, include_optimizer=True)
    assert info.value.errno == errno.ENOSPC
    assert "No space left on device" in str(info.value)
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_a_best_only_checkpoint_whose_save_failed_is_not_the_best(tmp_path, monkeypatch):
    x = np.eye(4, dtype=np.float32)
    y = np.array([0, 1, 2, 0])
    checkpoint = ModelCheckpoint(tmp_path / "best.npz", monitor="loss", save_best_only=True)

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError, match="No space left on device"):
        _model().fit(x, y, verbose=0, callbacks=[checkpoint])
    assert checkpoint.best == np.inf
    monkeypatch.undo()
    # Room again: the next fit saves its first epoch, whatever its loss.
    model = _model(seed=7)
    model.fit(x, y, verbose=0, callbacks=[checkpoint])
    assert np.isfinite(checkpoint.best)
    _assert_same(load_model(tmp_path / "best.npz"), model)


_CHECKPOINT_THEN_LIMIT = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from retrograd import Sequential
    from retrograd.callbacks import Callback, ModelCheckpoint
    from retrograd.layers import Dense
    from retrograd.losses import MeanSquaredError
    from retrograd.optimizers import SGD

    class DiskFills(Callback):
        # Runs after ModelCheckpoint: once the first epoch's file is written, no more room.
        def on_epoch_end(self, epoch, logs=None):
            resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))

    model = Sequential([Dense(3, 2, seed=0)]).compile(MeanSquaredError(), SGD(0.1))
    x = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    try:
        model.fit(x, np.zeros((4, 2), np.float32), epochs=3, batch_size=2, verbose=0,
                  callbacks=[ModelCheckpoint(sys.argv[1]), DiskFills()])
    except OSError as exc:
        print(exc)
""")


@posix_only
def test_a_disk_filling_up_during_fit_keeps_the_last_good_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    out = subprocess.run([sys.executable, "-c", _CHECKPOINT_THEN_LIMIT, str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Sequential.save" in out.stdout and repr(str(path)) in out.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]
    restored = load_model(path)
    assert restored.optimizer.t == 2       # the file of epoch 1: two batches of two


_SAVE_FOREVER = textwrap.dedent("""
    import sys
    from retrograd import Sequential
    from retrograd.layers import Dense

    model = Sequential([Dense(1024, 2048, seed=9)])    # 8 MiB: most of a loop is writing
    model.save(sys.argv[1])
    print("saving", flush=True)
    while True:
        model.save(sys.argv[1])
""")


@posix_only
def test_a_process_killed_while_saving_leaves_a_complete_checkpoint(tmp_path):
    path = tmp_path / "m.npz"
    _trained().save(path, include_optimizer=True)
    killed_mid_save = False
    for attempt in range(10):
        child = subprocess.Popen([sys.executable, "-c", _SAVE_FOREVER, str(path)],
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline() == "saving\n"
            time.sleep(0.005 * attempt)   # a different point of the loop each attempt
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
            child.stdout.close()
        # Whenever the kill came, the file is a whole checkpoint: the child's last.
        loaded = load_model(path)
        assert loaded.layers[0].weights.shape == (1024, 2048)
        leftovers = [p for p in tmp_path.iterdir() if p.name != "m.npz"]
        assert all(p.name.startswith(".m.npz.") for p in leftovers), leftovers
        if leftovers:                      # killed inside save, before the rename
            killed_mid_save = True
            for leftover in leftovers:
                leftover.unlink()
            break
    assert killed_mid_save, "no kill landed inside a save in 10 attempts"


# ---- damaged, truncated and random bytes ---------------------------------------------------
@given(cut=st.integers(min_value=0))
def test_every_truncation_is_refused(checkpoint, scratch, cut):
    data, _ = checkpoint
    scratch.write_bytes(data[:cut % len(data)])
    _refused(scratch, "load_model: expected")


@given(position=st.integers(min_value=0), flip=st.integers(1, 255))
def test_a_damaged_byte_anywhere_gives_the_same_model_or_a_value_error(checkpoint, scratch,
                                                                       position, flip):
    # Bytes outside the data (timestamps, the creator's version...) change nothing; the data
    # are CRC-checked: a load either gives back exactly the saved model or is refused.
    data, model = checkpoint
    damaged = bytearray(data)
    damaged[position % len(data)] ^= flip
    scratch.write_bytes(bytes(damaged))
    try:
        loaded = load_model(scratch)
    except ValueError as exc:
        assert repr(str(scratch)) in str(exc)
    else:
        _assert_same(loaded, model)


@given(prefix=st.sampled_from([b"", b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY\x01\x00",
                               b"\x80\x04\x95"]),
       body=st.binary(max_size=300))
def test_random_bytes_are_refused(scratch, prefix, body):
    scratch.write_bytes(prefix + body)
    _refused(scratch, "load_model: expected")


# ---- foreign files and members -------------------------------------------------------------
def test_an_archive_recompressed_by_another_zip_tool_still_loads(checkpoint, tmp_path):
    data, model = checkpoint
    _write_zip(tmp_path / "deflated.npz", _members(data), zipfile.ZIP_DEFLATED)
    _assert_same(load_model(tmp_path / "deflated.npz"), model)


@pytest.mark.parametrize("extra, match", [
    (("evil.py", b"import os; os.system('echo pwned')"), r"expected only \.npy entries"),
    (("../escape.npy", _npy(np.zeros(3, np.float32))), r"expected arrays \["),
    (("hidden/weights.npy", _npy(np.zeros((4, 8), np.float32))), "expected each entry once"),
    (("architecture", b'{"format": "retrograd.Sequential"}'), r"expected only \.npy entries"),
])
def test_foreign_members_are_refused_and_never_extracted(checkpoint, tmp_path, extra, match):
    data, _ = checkpoint
    directory = tmp_path / "inner"
    directory.mkdir()
    path = directory / "m.npz"
    _write_zip(path, [*_members(data), extra])
    _refused(path, "load_model: " + match)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["inner", "m.npz"]


def test_an_archive_of_foreign_members_only_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    _write_zip(path, [("architecture", b'{"format": "retrograd.Sequential", "layers": []}'),
                      ("README.txt", b"hello")])
    _refused(path, r"load_model: expected only \.npy entries, got \['README.txt', 'architecture'\]")


def _central_record(data, name):
    """Offset of ``name``'s record in the zip's central directory."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        position = archive.start_dir
    while data[position:position + 4] == b"PK\x01\x02":
        lengths = struct.unpack_from("<HHH", data, position + 28)
        if data[position + 46:position + 46 + lengths[0]] == name.encode():
            return position
        position += 46 + sum(lengths)
    raise KeyError(name)


@pytest.mark.parametrize("field, value", [(8, 1), (10, 99), (6, 200)],
                         ids=["encrypted", "unknown-compression", "needs-zip-version-20.0"])
def test_entries_zipfile_cannot_read_are_refused(checkpoint, scratch, field, value):
    # Central directory fields: general purpose flags (bit 0: encrypted), compression
    # method, version needed to extract.
    damaged = bytearray(checkpoint[0])
    struct.pack_into("<H", damaged, _central_record(checkpoint[0], "hidden/weights.npy") + field,
                     value)
    scratch.write_bytes(bytes(damaged))
    _refused(scratch, "load_model: expected")


# ---- pickle payloads: never unpickled, never run ------------------------------------------
class _Payload:
    """Unpickling this makes the directory ``target``: the trace of code run from a file."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return os.mkdir, (self.target,)


@pytest.fixture
def no_pickle(monkeypatch):
    """Records every call of pickle.load / pickle.loads / pickle.Unpickler during the test."""
    calls = []

    def spy(name, real):
        def wrapper(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)
        return wrapper

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, spy(name, getattr(pickle, name)))
    return calls


def _hostile_files(data, target):
    """(name, writer) for files carrying a _Payload in every place a pickle can hide."""
    payload = np.array([_Payload(str(target))], dtype=object)
    members = _members(data)

    def replaced(name, blob):
        return [(n, blob if n == name else b) for n, b in members]

    return [
        ("pickle", lambda p: p.write_bytes(pickle.dumps(_Payload(str(target))))),
        ("npy", lambda p: p.write_bytes(_npy(payload, allow_pickle=True))),
        ("architecture", lambda p: _write_zip(p, replaced("architecture.npy",
                                                          _npy(payload, allow_pickle=True)))),
        ("weights", lambda p: _write_zip(p, replaced("hidden/weights.npy",
                                                     _npy(payload, allow_pickle=True)))),
        ("optimizer", lambda p: _write_zip(p, replaced("optimizer/m/hidden/weights.npy",
                                                       _npy(payload, allow_pickle=True)))),
    ]


def test_the_payload_runs_when_unpickled(tmp_path):
    # The sentinel below would catch a payload run by load_model.
    pickle.loads(pickle.dumps(_Payload(str(tmp_path / "ran"))))
    assert (tmp_path / "ran").is_dir()


@pytest.mark.parametrize("where", ["pickle", "npy", "architecture", "weights", "optimizer"])
def test_pickle_payloads_are_refused_without_unpickling(checkpoint, tmp_path, no_pickle, where):
    target = tmp_path / "ran"
    path = tmp_path / "hostile.npz"
    dict(_hostile_files(checkpoint[0], target))[where](path)
    _refused(path, "load_model: expected")
    assert not target.exists()
    assert no_pickle == []


# ---- the architecture JSON -----------------------------------------------------------------
@pytest.mark.parametrize("name", [
    "os.system", "builtins.eval", "__import__('os').system('true')", "retrograd.layers.Dense",
    "Dense.__init__.__globals__", "subprocess.Popen", "", "dense", "DENSE",
])
def test_layer_classes_that_are_not_exported_layers_are_refused(checkpoint, tmp_path, name):
    def change(spec):
        spec["model"]["layers"][0]["class"] = name
        return spec

    path = tmp_path / "m.npz"
    _write_zip(path, _with_architecture(checkpoint[0], change))
    _refused(path, "load_model: expected layer 0 a layer class of retrograd.layers, got "
             + re.escape(repr(name)))


@pytest.mark.parametrize("section, name, match", [
    ("loss", "os.system", "a loss class of retrograd.losses"),
    ("loss", "retrograd.losses.Huber", "a loss class of retrograd.losses"),
    ("optimizer", "builtins.exec", "an optimizer class of retrograd.optimizers"),
    ("optimizer", "Adam.step", "an optimizer class of retrograd.optimizers"),
])
def test_loss_and_optimizer_classes_that_are_not_exported_are_refused(checkpoint, tmp_path,
                                                                      section, name, match):
    def change(spec):
        spec["training"][section]["class_name"] = name
        return spec

    path = tmp_path / "m.npz"
    _write_zip(path, _with_architecture(checkpoint[0], change))
    _refused(path, f"load_model: expected {match}, got {re.escape(repr(name))}")


def _drop(*keys):
    def change(spec):
        target = spec
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
        return spec
    return change


def _set(value, *keys):
    def change(spec):
        target = spec
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
        return spec
    return change


_FORMATS = ("expected an architecture of format 'retrograd.Model' with a model (or "
            "'retrograd.Sequential' with a list of layers), got ")


@pytest.mark.parametrize("change, match", [
    (_drop("format"), "expected an architecture of format 'retrograd.Model'"),
    (_set("retrograd.Model2", "format"), re.escape(_FORMATS + "'retrograd.Model2'")),
    (_drop("model"), re.escape(_FORMATS + "\"format 'retrograd.Model' without model\"")),
    (_set([{}], "model"),
     re.escape(_FORMATS + "\"format 'retrograd.Model' with model of type list\"")),
    # A version 3 architecture under the old format name: no "layers" list.
    (_set("retrograd.Sequential", "format"),
     re.escape(_FORMATS + "\"format 'retrograd.Sequential' without layers\"")),
    (_set({"0": {}}, "model", "layers"),
     r"expected a model entry \{'class': 'Model' or 'Sequential', 'name', 'trainable', "
     r"'layers': \[\.\.\.\], \.\.\.\}, got \{'class': 'Sequential'"),
    (_drop("model", "name"), r"expected a model entry \{'class': 'Model' or 'Sequential'"),
    (_set("Sequential2", "model", "class"),
     r"expected a model entry \{'class': 'Model' or 'Sequential'"),
    (_set(1, "model", "trainable"), r"expected a model entry \{'class': 'Model' or 'Sequential'"),
    (_drop("version"), "expected format version 1 to 3, got None"),
    (_set(3.0, "version"), "expected format version 1 to 3, got 3.0"),
    (_set(-1, "version"), "expected format version 1 to 3, got -1"),
    (_set(10**100, "version"), "expected format version 3 or older, got 1000000000"),
    (_set(2, "version"), "expected format 'retrograd.Sequential' for versions 1 and 2, "
                         "'retrograd.Model' for 3, got \"'retrograd.Model' version 2\""),
    (_drop("model", "layers", 0, "config"), r"expected layer 0 as \{'class': name, 'config'"),
    (_drop("model", "layers", 2, "class"), r"expected layer 2 as \{'class': name, 'config'"),
    (_set([1, 2], "model", "layers", 1), r"expected layer 1 as \{'class': name, 'config'"),
    (_set(None, "model", "layers", 0, "config", "input_size"),
     "expected a valid configuration for layer 0"),
    (_set("object", "model", "layers", 0, "config", "dtype"),
     "expected a valid configuration for layer 0"),
    (_set(5, "model", "layers", 0, "config", "input_size"),
     r"expected hidden/weights a float array of shape \(5, 8\)"),
    (_drop("training", "optimizer", "t"), "expected a training section"),
    (_set("NaN", "training", "optimizer", "t"), "expected a valid training configuration"),
    (lambda spec: ["not", "an", "object"], "expected an architecture of format"),
    (lambda spec: "[" * 100_000 + "]" * 100_000, "expected the architecture as JSON"),
    (lambda spec: '{"format": "retrograd.Sequential", "layers": [] ',
     "expected the architecture as JSON, got invalid JSON"),
    (lambda spec: '{"format": "retrograd.Model", "version": 3, "model": {',
     "expected the architecture as JSON, got invalid JSON"),
])
def test_bad_architectures_are_refused(checkpoint, tmp_path, change, match):
    path = tmp_path / "m.npz"
    _write_zip(path, _with_architecture(checkpoint[0], change))
    _refused(path, "load_model: " + match)


def test_the_graph_checkpoint_loads_as_saved(graph_checkpoint, tmp_path):
    # The file the cases below tamper with is good as it stands.
    (tmp_path / "g.npz").write_bytes(graph_checkpoint[0])
    loaded = load_model(tmp_path / "g.npz")
    _assert_same(loaded, graph_checkpoint[1])
    assert loaded.layers[4]._rng.bit_generator.state == \
        graph_checkpoint[1].layers[4]._rng.bit_generator.state


def _graph_set(value, *keys):
    return _set(value, "model", *keys)


def _rng(change):
    """Changes the Dropout's (layer 4's) saved generator state with ``change(state)``."""
    def tamper(spec):
        state = spec["model"]["layers"][4]["rng"]
        spec["model"]["layers"][4]["rng"] = change(state)
        return spec
    return tamper


_GRAPH = "expected a consistent graph in model 'net', got "
_DROPOUT = r"expected a valid configuration for layer 4 \(Dropout\)"


@pytest.mark.parametrize("change, match", [
    # A node calling a layer the file does not list.
    (_graph_set("nope", "nodes", 1, "layer"),
     re.escape(_GRAPH + "node 1 naming unknown layer 'nope'")),
    (_graph_set(0, "nodes", 1, "layer"), re.escape(_GRAPH + "node 1 naming unknown layer 0")),
    (_drop("model", "nodes", 1, "layer"), re.escape(_GRAPH + "KeyError: 'layer'")),
    # Tensor references out of range: inputs, later or own nodes, outputs a node lacks.
    (_graph_set([["input", 1]], "nodes", 0, "inputs"),
     re.escape(_GRAPH + "node 0 tensor ['input', 1] out of range")),
    (_graph_set([["input", -1]], "nodes", 0, "inputs"),
     re.escape(_GRAPH + "node 0 tensor ['input', -1] out of range")),
    (_graph_set([["node", 1, 0]], "nodes", 1, "inputs"),
     re.escape(_GRAPH + "node 1 tensor ['node', 1, 0] out of range")),
    (_graph_set([["node", 6, 0]], "nodes", 1, "inputs"),
     re.escape(_GRAPH + "node 1 tensor ['node', 6, 0] out of range")),
    (_graph_set([["node", 0, 1]], "nodes", 1, "inputs"),
     re.escape(_GRAPH + "node 1 tensor ['node', 0, 1] out of range")),
    (_graph_set([["node", 0, -1]], "nodes", 1, "inputs"),
     re.escape(_GRAPH + "node 1 tensor ['node', 0, -1] out of range")),
    (_graph_set([["node", 0, True]], "nodes", 1, "inputs"),
     re.escape(_GRAPH + "node 1 tensor ['node', 0, True] out of range")),
    (_graph_set([["node", 0.0, 0]], "nodes", 1, "inputs"),
     re.escape(_GRAPH + "node 1 tensor ['node', 0.0, 0] out of range")),
    (_graph_set([["node", 0]], "nodes", 1, "inputs"),
     re.escape(_GRAPH + "node 1 tensor ['node', 0], not ['input', i] or ['node', k, j]")),
    (_graph_set([["tensor", 0]], "nodes", 1, "inputs"),
     re.escape(_GRAPH + "node 1 tensor ['tensor', 0], not ['input', i] or ['node', k, j]")),
    (_graph_set("x", "nodes", 1, "inputs"), re.escape(_GRAPH + "node 1 inputs 'x'")),
    (_graph_set([["node", 7, 0]], "outputs"),
     re.escape(_GRAPH + "outputs tensor ['node', 7, 0] out of range")),
    # A layer name given twice, or to a layer and an input.
    (_graph_set("shared", "layers", 1, "name"),
     re.escape("expected unique layer names in model 'net', got 'shared'")),
    (_graph_set("head", "inputs", 0, "name"),
     re.escape(_GRAPH + "ValueError: Model: expected unique layer and input names")),
    # Calling styles: unknown, or with a number of inputs the style cannot take.
    (_graph_set("kwargs", "nodes", 0, "style"),
     re.escape(_GRAPH + "node 0 style 'kwargs', not one of ['single', 'list', 'args']")),
    (_graph_set(None, "nodes", 0, "style"),
     re.escape(_GRAPH + "node 0 style None, not one of ['single', 'list', 'args']")),
    (_graph_set("single", "nodes", 3, "style"),
     re.escape(_GRAPH + "node 3 of style 'single' with 2 inputs")),
    (_graph_set([], "nodes", 3, "inputs"),
     re.escape(_GRAPH + "node 3 of style 'list' with 0 inputs")),
    (_graph_set("args", "nodes", 3, "style"), re.escape(_GRAPH + "TypeError: Add: expected")),
    (_graph_set("list", "nodes", 0, "style"), re.escape(_GRAPH + "ValueError: Dense: expected")),
    # Generator states NumPy refuses, or would take without keeping them as given.
    (_rng(lambda state: None), _DROPOUT),
    (_rng(lambda state: {}), _DROPOUT),
    (_rng(lambda state: "PCG64"), _DROPOUT),
    (_rng(lambda state: {**state, "bit_generator": "MT19937"}), _DROPOUT),
    (_rng(lambda state: {**state, "state": {"state": 2**200, "inc": 1}}), _DROPOUT),
    (_rng(lambda state: {**state, "state": {"state": -1, "inc": 1}}), _DROPOUT),
    (_rng(lambda state: {**state, "state": {"state": 1.5, "inc": 1}}), _DROPOUT + ".*rng state"),
    (_rng(lambda state: {**state, "state": {"state": "1", "inc": 1}}), _DROPOUT),
    (_rng(lambda state: {**state, "state": None}), _DROPOUT),
    (_rng(lambda state: {**state, "has_uint32": 2**70}), _DROPOUT),
    (_rng(lambda state: {**state, "uinteger": -5}), _DROPOUT),
    (_rng(lambda state: {**state, "extra": 1}), _DROPOUT + ".*rng state"),
    (_rng(lambda state: {key: v for key, v in state.items() if key != "uinteger"}), _DROPOUT),
    # A generator state for a layer that draws no random numbers.
    (lambda spec: _graph_set(spec["model"]["layers"][4]["rng"], "layers", 0, "rng")(spec),
     r"expected a valid configuration for layer 0 \(Dense\)"),
    # Names, flags and the rest of the model entry.
    (_graph_set("a/b", "layers", 0, "name"), r"expected a valid configuration for layer 0"),
    (_graph_set(5, "layers", 0, "name"), r"expected a valid configuration for layer 0"),
    (_graph_set("no", "layers", 5, "trainable"), r"expected a valid configuration for layer 5"),
    (lambda spec: _graph_set([*spec["model"]["layers"], {
        "class": "ReLU", "name": "spare", "config": {"dtype": "float32"}, "trainable": True}],
        "layers")(spec), re.escape("expected a consistent graph in model 'net', every listed "
                                   "layer called, got \"unused layers ['spare']\"")),
    (_graph_set("yes", "single_input"),
     re.escape(_GRAPH + "single_input and single_output not true or false")),
    (_graph_set([0], "inputs", 0, "shape"),
     re.escape(_GRAPH + "ValueError: Input: expected shape")),
    (_graph_set([5], "inputs", 0, "shape"), re.escape(_GRAPH + "ValueError: Dense: expected")),
    (_graph_set("float16", "inputs", 0, "dtype"),
     re.escape(_GRAPH + "TypeError: Input: expected")),
    (_drop("model", "outputs"), re.escape(_GRAPH + "KeyError: 'outputs'")),
    (_graph_set({}, "nodes"), re.escape(_GRAPH + "outputs tensor ['node', 6, 0] out of range")),
    (_drop("model", "inputs"), re.escape(_GRAPH + "KeyError: 'inputs'")),
    (_graph_set(["net"], "layers", 0), r"expected layer 0 as \{'class': name, 'config'"),
    # A layer renamed without its nodes.
    (_graph_set("shared2", "layers", 0, "name"),
     re.escape(_GRAPH + "node 0 naming unknown layer 'shared'")),
])
def test_tampered_graphs_are_refused(graph_checkpoint, tmp_path, change, match):
    path = tmp_path / "g.npz"
    _write_zip(path, _with_architecture(graph_checkpoint[0], change))
    _refused(path, "load_model: " + match)


def test_arrays_keyed_by_names_the_graph_does_not_have_are_refused(graph_checkpoint, tmp_path):
    members = _members(graph_checkpoint[0])
    names = [name for name, _ in members]
    assert names.count("shared/weights.npy") == 1      # a shared layer's arrays, once
    for old, new in [("shared/weights.npy", "shared_1/weights.npy"),
                     ("head/biases.npy", "head/bias.npy"),
                     ("optimizer/v/shared/biases.npy", "optimizer/v/drop/biases.npy")]:
        _write_zip(tmp_path / "g.npz", [(new if n == old else n, b) for n, b in members])
        _refused(tmp_path / "g.npz", re.escape("load_model: expected arrays ['head/biases'"))


@pytest.mark.parametrize("architecture, match", [
    (np.array(b'{"format": "retrograd.Sequential"}'), "the architecture as a JSON string"),
    (np.array(['{"format": "retrograd.Sequential"}']), "the architecture as a JSON string"),
    (np.array(2), "the architecture as a JSON string"),
])
def test_an_architecture_entry_that_is_not_one_string_is_refused(checkpoint, tmp_path,
                                                                 architecture, match):
    members = [(n, _npy(architecture) if n == "architecture.npy" else b)
               for n, b in _members(checkpoint[0])]
    _write_zip(tmp_path / "m.npz", members)
    _refused(tmp_path / "m.npz", "load_model: expected " + match)


def _header_claiming(shape, descr="<f4"):
    """A .npy member whose header claims ``shape`` and holds no data at all."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False,
                                                  "shape": shape})
    return buffer.getvalue()


@pytest.mark.parametrize("name, blob, match", [
    ("hidden/weights.npy", _npy(np.zeros((8, 4), np.float32)),
     r"expected hidden/weights a float array of shape \(4, 8\), got 'dtype float32 shape "
     r"\(8, 4\)'"),
    ("hidden/biases.npy", _npy(np.zeros((8, 1), np.float32)),
     r"expected hidden/biases a float array of shape \(8,\)"),
    ("out/weights.npy", _npy(np.zeros((8, 3), np.int64)),
     r"expected out/weights a float array of shape \(8, 3\), got 'dtype int64"),
    ("out/weights.npy", _npy(np.zeros((8, 3), np.complex64)),
     r"expected out/weights a float array of shape \(8, 3\), got 'dtype complex64"),
    # Optimizer state must have its parameter's dtype exactly; weights any float dtype.
    ("optimizer/v/out/weights.npy", _npy(np.zeros((8, 3), np.float64)),
     r"expected optimizer/v/out/weights a float32 array of shape \(8, 3\), got 'dtype float64"),
    ("optimizer/m/hidden/biases.npy", _npy(np.zeros((8,), np.float16)),
     r"expected optimizer/m/hidden/biases a float32 array of shape \(8,\), got 'dtype float16"),
    ("optimizer/m/hidden/weights.npy", _npy(np.zeros((8, 4), np.float32)),
     r"expected optimizer/m/hidden/weights a float32 array of shape \(4, 8\)"),
    # A header asking for terabytes is refused before anything is allocated or read.
    ("hidden/weights.npy", _header_claiming((2**20, 2**20)),
     r"expected hidden/weights a float array of shape \(4, 8\), got 'dtype float32 shape "
     r"\(1048576, 1048576\)'"),
    ("architecture.npy", _header_claiming((), "<U100000000"),
     re.escape("expected the architecture as a JSON string of at most 16777216 characters, "
               "got 'dtype <U100000000 shape ()'")),
    ("hidden/weights.npy", _npy(np.zeros((4, 8), np.float32))[:-1],
     "expected an intact entry 'hidden/weights', got a damaged one .*EOF"),
    ("hidden/weights.npy", _npy(np.zeros((4, 8), np.float32)) + b"\0",
     "expected an intact entry 'hidden/weights', got a damaged one .*bytes after the array"),
    ("hidden/weights.npy", b"\x93NUMPY\x09\x00junk",
     "expected an intact entry 'hidden/weights', got a damaged one .*version"),
])
def test_mismatched_or_damaged_arrays_are_refused(checkpoint, tmp_path, name, blob, match):
    members = [(n, blob if n == name else b) for n, b in _members(checkpoint[0])]
    assert name in dict(members)
    _write_zip(tmp_path / "m.npz", members)
    _refused(tmp_path / "m.npz", "load_model: " + match)


def test_missing_entries_are_refused(checkpoint, tmp_path):
    members = _members(checkpoint[0])
    for name in ("architecture.npy", "out/biases.npy", "optimizer/m/hidden/biases.npy"):
        assert name in dict(members)
        _write_zip(tmp_path / "m.npz", [(n, b) for n, b in members if n != name])
        _refused(tmp_path / "m.npz", "load_model: expected (an 'architecture' entry|arrays)")


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=10)


def _leaves(node, path=()):
    """Every (path, value) of a JSON document, containers included."""
    yield path, node
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else ()
    for key, value in items:
        yield from _leaves(value, (*path, key))


@pytest.mark.parametrize("which", ["checkpoint", "graph_checkpoint"])
@given(data=st.data())
def test_any_value_anywhere_in_the_architecture_gives_a_model_or_a_value_error(
        request, scratch, which, data):
    blob, _ = request.getfixturevalue(which)
    spec = json.loads(str(np.load(io.BytesIO(dict(_members(blob))["architecture.npy"]))))
    paths = [p for p, _ in _leaves(spec) if p]
    where = data.draw(st.sampled_from(paths))
    value = data.draw(_json)
    _write_zip(scratch, _with_architecture(blob, _set(value, *where)))
    try:
        load_model(scratch)
    except ValueError as exc:
        assert repr(str(scratch)) in str(exc)
