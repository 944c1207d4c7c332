"""Saving and loading models: ``model.save(path)``, ``retrograd.load_model(path)``.

A file is one ``.npz``: an ``architecture`` entry holding JSON and one entry per
array, read back with zipfile and NumPy's .npy reader (``allow_pickle=False``,
every header checked before its data is read).  Objects are built only from
classes exported by ``retrograd.layers``, ``retrograd.losses`` and
``retrograd.optimizers``, so a file can never make it run code.

Format versions (older ones stay readable; a newer one is refused with a
message saying so):

1. format "retrograd.Sequential": a list of layers (class name and
   ``get_config()``), arrays ``layer<i>_param<j>``.
2. adds a "training" section: the loss (class name and config), the built-in
   metric names and the optimizer (class name, config, step count t, its running
   numbers), arrays ``optimizer_<slot>_<i>_<j>`` for the state of array j of
   parameter group i.
3. format "retrograd.Model", the graph: ``model`` holds the model's class
   ("Model" or "Sequential"), name, its layers once each (class, name, config,
   ``trainable``, the generator state of layers that draw random numbers, a
   nested model as a model of its own), and for a Model its inputs (name, shape,
   dtype), nodes (layer name, calling style, input tensors) and outputs.  A tensor
   is ``["input", i]`` or ``["node", k, j]`` (output j of node k).  Arrays are
   keyed by layer and array name: ``<layer>/<param>``, ``<layer>/<state>`` and
   ``optimizer/<slot>/<layer>/<param>``; the training section may hold one loss
   per output and ``loss_weights``.
"""
import contextlib
import json
import os
import secrets
import zipfile
from collections import Counter

import numpy as np

from .. import layers as _layers
from .. import losses as _losses
from .. import metrics as _metrics
from .. import optimizers as _optimizers
from .._validation import fail
from ..layers.node import ARGS, LIST, SINGLE, Input
from .graph import Model
from .sequential import Sequential

LEGACY_FORMAT = "retrograd.Sequential"
FORMAT = "retrograd.Model"
FORMAT_VERSION = 3
_STYLES = (SINGLE, LIST, ARGS)


# ---- saving ------------------------------------------------------------------------------------
def save_model(model, path, include_optimizer=False):
    """``model.save``: architecture, weights, state and optionally the compiled
    training setup, written atomically (see ``Model.save``)."""
    path = os.fspath(path)
    owner = f"{model.owner}.save"
    architecture = {"format": FORMAT, "version": FORMAT_VERSION, "model": _model_spec(model)}
    arrays = {}
    for layer in model._leaves:
        for key, array in zip(_array_keys(layer), [*layer.params, *layer.state]):
            arrays[key] = array
    if include_optimizer:
        architecture["training"], state = _training_state(model, owner)
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
            raise _save_error(exc, path, owner) from exc
        raise


def _array_keys(layer):
    """File keys of a layer's params then state: "<layer>/<array name>"."""
    names = [*(layer.param_names or [f"param{j}" for j in range(len(layer.params))]),
             *(layer.state_names or [f"state{j}" for j in range(len(layer.state))])]
    return [f"{layer.name}/{name}" for name in names]


def _model_spec(model):
    layers = [_model_spec(layer) if isinstance(layer, Model) else _layer_spec(layer)
              for layer in model.layers]
    spec = {"class": type(model).__name__, "name": model.name, "trainable": model.trainable,
            "layers": layers}
    if type(model) is Sequential:
        spec["chain"] = [step.layer.name for step in model._steps]
        return spec
    if type(model) is not Model:
        fail(f"{model.owner}.save", "a Model or Sequential (subclasses are not saved)",
             type(model).__name__, TypeError)
    refs = {id(t): ["input", i] for i, t in enumerate(model._inputs)}
    nodes = []
    for k, (step, node) in enumerate(zip(model._steps, model._nodes)):
        nodes.append({"layer": step.layer.name, "style": step.style,
                      "inputs": [refs[id(t)] for t in node.inputs]})
        for j, t in enumerate(node.outputs):
            refs[id(t)] = ["node", k, j]
    spec.update({
        "inputs": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype.name}
                   for t in model._inputs],
        "nodes": nodes,
        "outputs": [refs[id(t)] for t in model._outputs],
        "single_input": model._single_input, "single_output": model._single_output,
    })
    return spec


def _layer_spec(layer):
    spec = {"class": layer.owner, "name": layer.name, "config": layer.get_config(),
            "trainable": layer.trainable}
    rng = getattr(layer, "_rng", None)
    if isinstance(rng, np.random.Generator):
        spec["rng"] = rng.bit_generator.state
    return spec


def _training_state(model, owner):
    """The "training" JSON section and the optimizer's state arrays by file key."""
    model._require_compiled(owner)
    losses = model.loss if isinstance(model.loss, list) else [model.loss]
    for what, obj, module, base in [*(("loss", loss, _losses, _losses.Loss) for loss in losses),
                                    ("optimizer", model.optimizer, _optimizers,
                                     _optimizers.Optimizer)]:
        if not (isinstance(obj, base) and _exported(module, type(obj).__name__) is type(obj)):
            fail(owner, f"a {what} class of retrograd.{module.__name__.split('.')[-1]} to "
                 "save it (or include_optimizer=False)", type(obj).__name__, TypeError)
    state = model.optimizer.state_dict()
    slots = state.pop("state")
    layers = [layer for layer in model._trainable_leaves() if layer.params]
    arrays = {f"optimizer/{slot}/{key}": a for slot, groups in slots.items()
              for layer, group in zip(layers, groups)
              for key, a in zip(_array_keys(layer), group)}
    # What remains of the state_dict besides these is the subclass's running numbers.
    optimizer = {"class_name": state.pop("class_name"), "config": state.pop("config"),
                 "t": state.pop("t"), "slots": list(slots), "scalars": state}
    specs = [{"class_name": type(loss).__name__, "config": loss.get_config()}
             for loss in losses]
    training = {
        "loss": specs if isinstance(model.loss, list) else specs[0],
        "loss_weights": model.loss_weights,
        "metrics": [name for name, fn in model.metrics.items()
                    if _metrics.METRICS.get(name) is fn],
        "optimizer": optimizer,
    }
    return training, arrays


# ---- loading ------------------------------------------------------------------------------------
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


def _save_error(exc, path, owner):
    """The OSError of a failed write, restated to name the file being saved."""
    message = (f"{owner}: could not write {path!r} ({exc.strerror or exc}); a previous "
               "file of that name is unchanged")
    return OSError(exc.errno, message) if exc.errno is not None else OSError(message)


def load_model(path):
    """The model stored by ``model.save(path)`` (a Model or a Sequential, graph,
    weights, state and generator states included);
    compiled, with its optimizer's state, when it was saved with
    ``include_optimizer=True`` (then ``fit(..., initial_epoch=k)`` continues
    the saved run).  Files of every earlier format version load too.

    Raises ValueError, naming the file, for anything that is not such a file:
    truncated, damaged or random bytes, foreign files or archive members, an
    entry given twice, pickled (object) arrays, a format version newer than
    this retrograd reads, unknown layer / loss / optimizer classes, bad
    configurations or generator states, graphs whose nodes name unknown layers or
    tensors, missing, extra or mis-shaped arrays (optimizer state must also have
    its parameter's dtype).  Each entry's .npy
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
            fail(owner, "a .npz archive written by Model.save", "a single .npy array")
        if not magic.startswith(_ZIP_MAGIC):
            fail(owner, "a .npz file written by Model.save (a zip archive)",
                 f"a file starting with {magic!r}")
        f.seek(0)
        try:
            archive = zipfile.ZipFile(f)
        # Damage surfaces as BadZipFile, NotImplementedError (an unknown zip version)...
        except Exception as exc:
            raise ValueError(f"{owner}: expected a .npz file written by Model.save, got a "
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
    if architecture["version"] >= 3:
        return _load_graph(archive, entries, architecture, owner)
    return _load_legacy(archive, entries, architecture, owner)


def _load_legacy(archive, entries, architecture, owner):
    """A format 1 or 2 file: a chain of layers, arrays keyed by position."""
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
    values = {key: _read_entry(archive, entries[key], key,
                               _array_check(key, param, key.startswith("optimizer_")), owner)
              for key, param in expected.items()}
    for i, layer in enumerate(model.layers):
        for j, param in enumerate(layer.params):
            param[...] = values[f"layer{i}_param{j}"]
    if training is not None:
        state = {slot: [[values[f"optimizer_{slot}_{i}_{j}"] for j in range(len(group))]
                        for i, group in enumerate(model.params)] for slot in slots}
        _compile_saved(model, training, state, owner)
    return model


def _load_graph(archive, entries, architecture, owner):
    """A format 3 file: the graph, arrays keyed by layer and array name."""
    model = _build_model(architecture["model"], owner)
    targets = {key: array for layer in model._leaves
               for key, array in zip(_array_keys(layer), [*layer.params, *layer.state])}
    training = architecture.get("training")
    expected = dict(targets)
    if training is not None:
        slots = _optimizer_slots(training, owner, ("loss_weights",))
        expected.update({f"optimizer/{slot}/{key}": array for slot in slots
                         for layer in model._trainable_leaves() if layer.params
                         for key, array in zip(_array_keys(layer), layer.params)})
    stored = set(entries) - {"architecture"}
    if stored != set(expected):
        fail(owner, f"arrays {sorted(expected)}", sorted(stored))
    values = {key: _read_entry(archive, entries[key], key,
                               _array_check(key, array, key not in targets), owner)
              for key, array in expected.items()}
    for key, array in targets.items():
        array[...] = values[key]
    if training is not None:
        layers = [layer for layer in model._trainable_leaves() if layer.params]
        state = {slot: [[values[f"optimizer/{slot}/{key}"] for key in _array_keys(layer)
                         [:len(layer.params)]] for layer in layers] for slot in slots}
        _compile_saved(model, training, state, owner)
    return model


def _build_model(spec, owner):
    """The Model or Sequential a format 3 "model" entry describes, layers built from
    their classes and configs, graph rebuilt by calling them on new Inputs."""
    shape = "{'class': 'Model' or 'Sequential', 'name', 'trainable', 'layers': [...], ...}"
    if (not isinstance(spec, dict) or spec.get("class") not in ("Model", "Sequential")
            or not isinstance(spec.get("name"), str) or not isinstance(spec.get("layers"), list)
            or not isinstance(spec.get("trainable"), bool)):
        fail(owner, f"a model entry {shape}", spec)
    by_name = {}
    for i, item in enumerate(spec["layers"]):
        nested = isinstance(item, dict) and item.get("class") in ("Model", "Sequential")
        layer = _build_model(item, owner) if nested else _build_layer(item, i, owner)
        if layer.name in by_name:
            fail(owner, f"unique layer names in model {spec['name']!r}", layer.name)
        by_name[layer.name] = layer
    where = f"a consistent graph in model {spec['name']!r}"
    try:
        if spec["class"] == "Sequential":
            chain = spec["chain"]
            if not isinstance(chain, list):
                raise _GraphError(f"chain {chain!r}")
            model = Sequential([_named(by_name, name, f"chain[{k}]")
                                for k, name in enumerate(chain)], name=spec["name"])
        else:
            model = _build_graph(spec, by_name)
    except _GraphError as exc:
        raise ValueError(f"{owner}: expected {where}, got {exc}") from None
    # Refusals by Input, a layer called on the rebuilt tensors or the Model itself.
    except (KeyError, TypeError, IndexError, AttributeError, ValueError) as exc:
        raise ValueError(f"{owner}: expected {where}, got {type(exc).__name__}: {exc}") from None
    unused = sorted(set(by_name) - {layer.name for layer in model.layers})
    if unused:
        fail(owner, f"{where}, every listed layer called", f"unused layers {unused}")
    model.trainable = spec["trainable"]
    return model


class _GraphError(Exception):
    """A node, tensor or chain entry of a format 3 model that names nothing valid."""


def _named(by_name, name, where):
    if not isinstance(name, str) or name not in by_name:
        raise _GraphError(f"{where} naming unknown layer {name!r}")
    return by_name[name]


def _index(value, size, what):
    """``value`` if it is an int in [0, size) (JSON has no other index), else raise."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise _GraphError(f"{what} out of range")
    return value


def _build_graph(spec, by_name):
    inputs = [Input(tuple(item["shape"]), dtype=item["dtype"], name=item["name"])
              for item in spec["inputs"]]
    produced = []

    def tensor(ref, where):
        """The tensor of ``["input", i]`` or ``["node", k, j]``, made before node ``where``."""
        what = f"{where} tensor {ref!r}"
        if isinstance(ref, list) and len(ref) == 2 and ref[0] == "input":
            return inputs[_index(ref[1], len(inputs), what)]
        if isinstance(ref, list) and len(ref) == 3 and ref[0] == "node":
            outputs = produced[_index(ref[1], len(produced), what)]
            return outputs[_index(ref[2], len(outputs), what)]
        raise _GraphError(f"{what}, not ['input', i] or ['node', k, j]")

    for k, node in enumerate(spec["nodes"]):
        where = f"node {k}"
        layer = _named(by_name, node["layer"], where)
        refs, style = node["inputs"], node["style"]
        if not isinstance(refs, list):
            raise _GraphError(f"{where} inputs {refs!r}")
        args = [tensor(ref, where) for ref in refs]
        if style not in _STYLES:
            raise _GraphError(f"{where} style {style!r}, not one of {list(_STYLES)}")
        # How many inputs each calling style takes: one, a list, several positional.
        if not (len(args) == 1 if style == SINGLE else len(args) >= (1 if style == LIST else 2)):
            raise _GraphError(f"{where} of style {style!r} with {len(args)} inputs")
        out = layer(args[0]) if style == SINGLE else layer(args) if style == LIST else \
            layer(*args)
        produced.append(out if isinstance(out, list) else [out])
    outputs = [tensor(ref, "outputs") for ref in spec["outputs"]]
    if not isinstance(spec["single_input"], bool) or not isinstance(spec["single_output"], bool):
        raise _GraphError("single_input and single_output not true or false")
    return Model(inputs[0] if spec["single_input"] else inputs,
                 outputs[0] if spec["single_output"] else outputs, name=spec["name"])


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


def _array_check(key, param, exact):
    """The header check of a stored array: the parameter's shape, any float dtype for
    weights and state (``exact`` False), exactly the parameter's dtype for optimizer
    state (``exact`` True)."""

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
    legacy = isinstance(architecture, dict) and architecture.get("format") == LEGACY_FORMAT
    entry = "layers" if legacy else "model"
    if (not isinstance(architecture, dict)
            or architecture.get("format") not in (FORMAT, LEGACY_FORMAT)
            or not isinstance(architecture.get(entry), list if legacy else dict)):
        if not isinstance(architecture, dict) or architecture.get("format") not in (
                FORMAT, LEGACY_FORMAT):
            got = architecture.get("format") if isinstance(architecture, dict) else architecture
        else:
            value = architecture.get(entry)
            got = (f"format {architecture['format']!r} " + (
                f"with {entry} of type {type(value).__name__}" if entry in architecture
                else f"without {entry}"))
        fail(owner, f"an architecture of format {FORMAT!r} with a model (or "
             f"{LEGACY_FORMAT!r} with a list of layers)", got)
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
    if legacy != (version < 3):
        fail(owner, f"format {LEGACY_FORMAT!r} for versions 1 and 2, {FORMAT!r} for 3",
             f"{architecture['format']!r} version {version}")
    return architecture


def _build_layer(spec, index, owner):
    """A layer from its file entry: class and config (every version); name,
    trainable and generator state (version 3)."""
    if (not isinstance(spec, dict) or not isinstance(spec.get("class"), str)
            or not isinstance(spec.get("config"), dict)):
        fail(owner, f"layer {index} as {{'class': name, 'config': {{...}}}}", spec)
    name = spec["class"]
    cls = _exported(_layers, name)
    if not (isinstance(cls, type) and issubclass(cls, _layers.Layer)) or issubclass(cls, Model):
        fail(owner, f"layer {index} a layer class of retrograd.layers", name)
    try:
        layer = cls(**spec["config"])
        if "name" in spec:
            layer.name = _layers.base._checked_name(spec["name"], name)
        if not isinstance(spec.get("trainable", True), bool):
            raise TypeError(f"trainable {spec['trainable']!r}")
        layer.trainable = spec.get("trainable", True)
        if "rng" in spec:
            generator = layer._rng.bit_generator
            generator.state = spec["rng"]
            # NumPy accepts some states it does not keep (extra keys, floats, numbers
            # beyond the generator's width): only one it reads back as given is valid.
            if generator.state != spec["rng"]:
                raise ValueError(f"rng state {spec['rng']!r} is not a state of "
                                 f"{type(generator).__name__}")
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        raise ValueError(f"{owner}: expected a valid configuration for layer {index} "
                         f"({name}), got {spec!r} ({exc})") from None
    return layer


def _exported(module, name):
    """The object ``module`` exports under ``name`` (listed in its __all__), else None:
    files name classes, and only these lists decide what a name may build."""
    return getattr(module, name, None) if name in getattr(module, "__all__", ()) else None


def _optimizer_slots(training, owner, extra=()):
    """The optimizer state names of a training section, after checking its layout."""
    shape = ("{'loss': {'class_name', 'config'}, 'metrics': [...], 'optimizer': "
             "{'class_name', 'config', 't', 'slots', 'scalars'}}")
    losses = training.get("loss") if isinstance(training, dict) else None
    losses = losses if isinstance(losses, list) and "loss_weights" in extra else [losses]
    if (not isinstance(training, dict)
            or set(training) != {"loss", "metrics", "optimizer", *extra}
            or not all(isinstance(loss, dict) and set(loss) == {"class_name", "config"}
                       for loss in losses)
            or not isinstance(training["metrics"], list)
            or not isinstance(training["optimizer"], dict)
            or set(training["optimizer"]) != {"class_name", "config", "t", "slots", "scalars"}
            or not isinstance(training["optimizer"]["scalars"], dict)):
        fail(owner, f"a training section {shape}", training)
    slots = training["optimizer"]["slots"]
    if not isinstance(slots, list) or not all(isinstance(s, str) for s in slots):
        fail(owner, "the optimizer's slots as a list of names", slots)
    return slots


def _compile_saved(model, training, state, owner):
    """Compile ``model`` with the saved loss(es), metrics and optimizer state
    (``state``: the optimizer's state arrays, {slot: groups})."""
    loss_specs, opt_spec = training["loss"], training["optimizer"]
    several = isinstance(loss_specs, list)
    loss_classes = []
    for loss_spec in loss_specs if several else [loss_specs]:
        loss_cls = _exported(_losses, loss_spec["class_name"])
        if not (isinstance(loss_cls, type) and issubclass(loss_cls, _losses.Loss)):
            fail(owner, "a loss class of retrograd.losses", loss_spec["class_name"])
        loss_classes.append((loss_cls, loss_spec["config"]))
    opt_cls = _exported(_optimizers, opt_spec["class_name"])
    if not (isinstance(opt_cls, type) and issubclass(opt_cls, _optimizers.Optimizer)):
        fail(owner, "an optimizer class of retrograd.optimizers", opt_spec["class_name"])
    try:
        losses = [cls(**config) for cls, config in loss_classes]
        loss = losses if several else losses[0]
        # Built with its defaults, then load_state_dict validates and sets the saved
        # hyper-parameters, step count, running numbers and state arrays.
        optimizer = opt_cls()
        optimizer.load_state_dict({"class_name": opt_spec["class_name"], "t": opt_spec["t"],
                                   "config": opt_spec["config"], "state": state,
                                   **opt_spec["scalars"]})
        model.compile(loss, optimizer, metrics=tuple(training["metrics"]),
                      loss_weights=training.get("loss_weights"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{owner}: expected a valid training configuration, got "
                         f"{training!r} ({exc})") from None


