"""Models as graphs of layers: ``Model(inputs, outputs)`` (API.md, second part).

The graph is what layers called on ``retrograd.Input`` recorded (``layers.node``).
``Model`` turns it into a list of steps in topological order, each a layer call
reading and writing numbered slots, so running it costs a list lookup per
tensor.  Backward is reverse-mode differentiation over the same steps
(micrograd's idea, Caffe's explicit per-layer backward):

    dL/d t = sum over the steps s that read t of  (dL/d out_s) J_s(t)

so a tensor read by several layers (fan-out) receives the sum of their
gradients.  A layer called at several steps (shared) keeps each call's saved
values apart (the model keeps every step's ``layer._cache`` and gives it back
before that step's backward) and its parameter gradients are the sum over its
calls.  A frozen layer (``trainable = False``) passes gradients through and
keeps its ``grads`` as they were; its params stay out of ``model.params``.
"""
import contextlib

import numpy as np

from .._validation import as_real_array, fail
from ..layers import Layer
from ..layers.node import LIST, SINGLE, SymbolicTensor
from .training import Training


class _Step:
    """One layer call of the executor: the layer, its calling style and the slots of
    its input and output tensors.  ``input_grad`` is False when every input is a
    model input (a training step needs no dL/d input there); ``shared`` when the
    layer has other steps in this model."""

    __slots__ = ("layer", "style", "inputs", "outputs", "input_grad", "shared")

    def __init__(self, layer, style, inputs, outputs, input_grad):
        self.layer, self.style = layer, style
        self.inputs, self.outputs = inputs, outputs
        self.input_grad = input_grad
        self.shared = False


class Model(Layer, Training):
    """A network given by its input and output tensors: ``Model(inputs, outputs)``.

    ``inputs``: one tensor from ``retrograd.Input`` or a list of them; ``outputs``:
    one symbolic tensor or a list.  ``forward(x)`` runs the layers in topological
    order (x a list of arrays in the order of ``inputs`` when there are several);
    ``backward(grad)`` runs them in reverse and returns dL/d input (a list for
    several inputs), summing gradients at fan-out and over the calls of a shared
    layer.  A Model is a layer too: called on a symbolic tensor it becomes one
    node of a larger graph (a shared encoder of a siamese network).

    Training, evaluation, saving: see ``Training`` (compile, fit, ...) and
    ``save`` / ``retrograd.load_model``.

    Example (a residual block, textbook ch. 22):
        >>> x = retrograd.Input(shape=(8, 8, 16))
        >>> h = ReLU()(Conv2D(16, 16, 3, padding="same")(x))
        >>> model = retrograd.Model(x, ReLU()(Add()([Conv2D(16, 16, 3, padding="same")(h), x])))
    """

    def __init__(self, inputs, outputs, name=None):
        input_list = _tensor_list(inputs, "inputs")
        output_list = _tensor_list(outputs, "outputs")
        for t in input_list:
            if t.node.layer is not None:
                fail("Model", "inputs created by retrograd.Input", t)
        if len({id(t) for t in input_list}) != len(input_list):
            fail("Model", "each input once", [t.name for t in input_list])
        nodes = _topological_nodes(input_list, output_list)
        self._init_model(name)
        self._single_input = not isinstance(inputs, (list, tuple))
        self._single_output = not isinstance(outputs, (list, tuple))
        slots = {id(t): k for k, t in enumerate(input_list)}
        self._input_shapes = [t.shape for t in input_list]
        self._input_names = [t.name for t in input_list]
        steps = []
        for node in nodes:
            in_slots = [slots[id(t)] for t in node.inputs]
            out_slots = []
            for t in node.outputs:
                slots[id(t)] = len(slots)
                out_slots.append(slots[id(t)])
            steps.append(_Step(node.layer, node.style, in_slots, out_slots,
                               input_grad=any(s >= len(input_list) for s in in_slots)))
        self._inputs, self._outputs, self._nodes = input_list, output_list, nodes
        self._finish(steps, len(input_list), [slots[id(t)] for t in output_list], len(slots))
        self.dtype = output_list[0].dtype

    # ---- construction shared with Sequential ----------------------------------------------------
    def _init_model(self, name):
        self.name = name if name is not None else _model_name(type(self).__name__)
        self.training = True
        self.trainable = True
        self.loss = None
        self.optimizer = None
        self.metrics = {}
        self.stop_training = False
        self._caches = None

    def _finish(self, steps, n_inputs, output_slots, n_slots):
        self._steps = steps
        self._n_inputs, self._output_slots, self._n_slots = n_inputs, output_slots, n_slots
        self.layers = _unique(step.layer for step in steps)
        # A step is shared when a layer it runs (itself, or one inside a nested model)
        # runs at another step too: its parameter gradients are then summed.
        uses = {}
        for step in steps:
            for leaf in _unique(_leaf_layers(step.layer)):
                uses[id(leaf)] = uses.get(id(leaf), 0) + 1
        for step in steps:
            step.shared = any(uses[id(leaf)] > 1 for leaf in _leaf_layers(step.layer))
        self._leaves = _unique(leaf for layer in self.layers for leaf in _leaf_layers(layer))
        names = {}
        for owner in [*getattr(self, "_input_names", []), *(lay.name for lay in self._leaves)]:
            names[owner] = names.get(owner, 0) + 1
        repeated = sorted(n for n, count in names.items() if count > 1)
        if repeated:
            fail(self.owner, "unique layer and input names", f"{repeated[0]!r} "
                 f"{names[repeated[0]]} times")

    # ---- the Layer contract ---------------------------------------------------------------------
    @property
    def owner(self):
        return type(self).__name__

    @property
    def _cache(self):
        return self._caches

    @_cache.setter
    def _cache(self, caches):
        self._caches = caches

    @property
    def state(self):
        return [s for layer in self._leaves for s in layer.state]

    def output_shape(self, input_shape):
        shapes = [input_shape] if self._single_input else list(input_shape)
        if len(shapes) != self._n_inputs:
            fail(f"{self.owner} {self.name!r}", f"{self._n_inputs} inputs", len(shapes))
        for shape, expected, name in zip(shapes, self._input_shapes, self._input_names):
            if tuple(shape) != expected:
                fail(f"{self.owner} {self.name!r}", f"input {name!r} of shape "
                     f"{_batch_text(expected)}", _batch_text(shape))
        out = [t.shape for t in self._outputs]
        return out[0] if self._single_output else out

    # ---- forward / backward ---------------------------------------------------------------------
    def forward(self, x):
        """The outputs for input ``x`` (a list of arrays for several inputs); a list of
        arrays when the model has several outputs."""
        values = [None] * self._n_slots
        values[:self._n_inputs] = self._input_arrays(x)
        caches = []
        for step in self._steps:
            layer = step.layer
            if step.style is SINGLE:
                out = layer.forward(values[step.inputs[0]])
            elif step.style is LIST:
                out = layer.forward([values[k] for k in step.inputs])
            else:
                out = layer.forward(*[values[k] for k in step.inputs])
            caches.append(layer._cache)
            if len(step.outputs) == 1:
                values[step.outputs[0]] = out
            else:
                for k, value in zip(step.outputs, out):
                    values[k] = value
        if self._single_output:
            self._caches = (caches, None)
            return values[self._output_slots[0]]
        outputs = [values[k] for k in self._output_slots]
        # kept for a zero gradient of an output that an enclosing graph does not read
        self._caches = (caches, [(v.shape, v.dtype) for v in outputs])
        return outputs

    def __call__(self, *inputs):
        """``forward`` on arrays; on symbolic tensors a node of an enclosing graph.
        Several inputs come as one list, as ``forward`` takes them."""
        if len(inputs) != 1:
            fail(f"{self.owner} {self.name!r}", "one input, or a list of inputs for a model "
                 "with several", f"{len(inputs)} arguments", TypeError)
        return Layer.__call__(self, inputs[0])

    def backward(self, grad):
        """Back-propagate dL/d output (a list for several outputs) through every step;
        returns dL/d input (a list in the order of ``inputs`` for several inputs) and
        leaves the parameter gradients in ``model.grads``."""
        return self._backward(grad, True)[0]

    def _backward(self, grad, input_grad):
        grads = self._run_backward(self._output_grads(grad), not input_grad)
        dx = grads[:self._n_inputs]
        return (dx[0] if self._single_input else dx), None

    def _output_grads(self, grad):
        owner = f"{self.owner}.backward"
        if self._single_output:
            grad = [grad]
        elif not isinstance(grad, (list, tuple)) or len(grad) != len(self._output_slots):
            fail(owner, f"a list of {len(self._output_slots)} gradients (one per output)",
                 type(grad).__name__ if not isinstance(grad, (list, tuple))
                 else f"{len(grad)} gradients", TypeError)
        return [as_real_array(g, owner, "grad") for g in grad]

    def _run_backward(self, output_grads, skip_input_grads):
        """The gradient of every slot, from the output slots' gradients, running the
        steps in reverse; the input slots' entries are the model's dL/d input."""
        if self._caches is None:
            raise RuntimeError(f"{self.owner}: backward called before forward")
        grads = [None] * self._n_slots
        owned = set()  # slots whose array the executor made, so it may add in place
        for k, g in zip(self._output_slots, output_grads):
            _accumulate(grads, owned, k, g)
        caches, seen = self._caches[0], set()
        for index in range(len(self._steps) - 1, -1, -1):
            step = self._steps[index]
            layer = step.layer
            layer._cache = caches[index]
            outs = [grads[k] for k in step.outputs]
            if len(outs) == 1:
                grad_out = outs[0]
            else:  # a model with several outputs, its output shapes in its cache
                grad_out = [g if g is not None else np.zeros(shape, dtype)
                            for g, (shape, dtype) in zip(outs, caches[index][1])]
            held = _held_grads(layer, seen) if step.shared or not layer.trainable else ()
            dx, _ = layer._backward(grad_out, step.input_grad or not skip_input_grads)
            for leaf, previous, frozen in held:
                for array, kept in zip(leaf.grads, previous):
                    if frozen:
                        array[...] = kept
                    else:
                        array += kept
            if dx is None:
                continue
            for k, d in zip(step.inputs, [dx] if step.style is SINGLE else dx):
                if d is not None:
                    _accumulate(grads, owned, k, d)
        return grads

    # ---- parameters and modes -----------------------------------------------------------------
    @property
    def params(self):
        return [layer.params for layer in self._trainable_leaves() if layer.params]

    @property
    def grads(self):
        return [layer.grads for layer in self._trainable_leaves() if layer.params]

    def _trainable_leaves(self):
        if not self.trainable:
            return []
        return _unique(leaf for layer in self.layers for leaf in
                       (layer._trainable_leaves() if isinstance(layer, Model)
                        else [layer] if layer.trainable else []))

    def train(self):
        """Training mode for every layer (Dropout drops, RReLU draws slopes...)."""
        self._set_mode(True)
        return self

    def eval(self):
        """Inference mode for every layer."""
        self._set_mode(False)
        return self

    def _set_mode(self, training):
        self.training = training
        for layer in self.layers:
            if isinstance(layer, Model):
                layer._set_mode(training)
            else:
                layer.training = training

    @contextlib.contextmanager
    def _mode(self, training):
        """Set every layer's mode for a block, then give each its previous mode back."""
        everything = [self, *self._leaves, *(lay for lay in self.layers if isinstance(lay, Model))]
        previous = [layer.training for layer in everything]
        self._set_mode(training)
        try:
            yield
        finally:
            for layer, mode in zip(everything, previous):
                layer.training = mode

    # ---- weights ----------------------------------------------------------------------------
    def get_weights(self):
        """Copies of every layer's params then state, layer by layer in topological
        order, frozen layers included, as one flat list."""
        return [a.copy() for layer in self._leaves for a in [*layer.params, *layer.state]]

    def set_weights(self, weights):
        """Copy ``weights`` (a flat list as ``get_weights`` returns) into the layers;
        shapes are checked before anything is written."""
        owner = f"{self.owner}.set_weights"
        targets = [a for layer in self._leaves for a in [*layer.params, *layer.state]]
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

    # ---- inputs -----------------------------------------------------------------------------
    def _input_arrays(self, x):
        """The model's input arrays from ``x``, checked against the Input shapes."""
        owner = self.owner
        if self._single_input:
            arrays = [x]
        elif not isinstance(x, (list, tuple)) or len(x) != self._n_inputs:
            fail(owner, f"a list of {self._n_inputs} arrays (one per input: "
                 f"{', '.join(self._input_names)})",
                 f"a list of {len(x)}" if isinstance(x, (list, tuple)) else type(x).__name__,
                 TypeError if not isinstance(x, (list, tuple)) else ValueError)
        else:
            arrays = list(x)
        for k, (a, shape) in enumerate(zip(arrays, self._input_shapes)):
            if isinstance(a, SymbolicTensor):
                fail(owner, "arrays (call the model on a symbolic tensor to add it to a graph)",
                     a, TypeError)
            shape_of = getattr(a, "shape", None)
            if shape_of is not None and tuple(shape_of[1:]) != shape:
                fail(owner, f"input {self._input_names[k]!r} of shape "
                     f"(N, {', '.join(map(str, shape))})", tuple(shape_of))
        return arrays

    def save(self, path, include_optimizer=False):
        """Write the graph (JSON: layers once each with their configs, nodes and
        their inputs), every layer's params and state, and the generator state of
        layers that draw random numbers, to one .npz file at ``path`` (exactly that
        name; format 3, see ``models.saving``).  With ``include_optimizer`` the
        compiled loss(es), the built-in metric names and the optimizer (config, step
        count and state arrays) are stored too, so ``load_model`` returns a compiled
        model that continues training exactly where this one stands (custom metric
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
        from .saving import save_model
        save_model(self, path, include_optimizer)

    # ---- description --------------------------------------------------------------------------
    def summary(self):
        """A table of layer calls: name (class), output shape, parameter count and the
        layers it reads from, then the total parameter count (trainable and not)."""
        rows = [(f"{name} (Input)", _batch_text(shape), "0", "")
                for name, shape in zip(self._input_names, self._input_shapes)]
        counted = set()
        for step, node in zip(self._steps, self._nodes):
            layer = step.layer
            count = 0 if id(layer) in counted else _param_count(layer)
            counted.add(id(layer))
            shapes = ", ".join(_batch_text(t.shape) for t in node.outputs)
            sources = ", ".join(t.name for t in node.inputs)
            rows.append((f"{layer.name} ({layer.owner})", shapes, f"{count:,}", sources))
        return _table(("Layer (type)", "Output shape", "Params", "Connected to"), rows,
                      self._leaves, self._trainable_leaves())

    def __repr__(self):
        return f"{self.owner}(name={self.name!r}, layers={[lay.name for lay in self.layers]})"


# ---- helpers --------------------------------------------------------------------------------------
_model_counters = {}


def _model_name(class_name):
    base = class_name.lower()
    number = _model_counters.get(base, 0)
    _model_counters[base] = number + 1
    return base if number == 0 else f"{base}_{number}"


def _tensor_list(tensors, what):
    items = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    if not items:
        fail("Model", f"at least one tensor in {what}", tensors)
    for t in items:
        if not isinstance(t, SymbolicTensor):
            fail("Model", f"{what} as symbolic tensors (retrograd.Input and layer outputs)",
                 type(t).__name__, TypeError)
    return items


def _topological_nodes(inputs, outputs):
    """The layer nodes between ``inputs`` and ``outputs``, each after the nodes that
    produce its inputs (depth-first from the outputs, so the order is deterministic).
    Raises ValueError for an output that depends on an Input not in ``inputs`` and for
    an input that no output depends on."""
    given = {id(t.node) for t in inputs}
    order, done, used = [], set(), set()
    for out in outputs:
        stack = [(out.node, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in done:
                continue
            if node.layer is None:
                if id(node) not in given:
                    fail("Model", f"output {out.name!r} to depend only on the model's inputs "
                         f"({', '.join(repr(t.name) for t in inputs)})",
                         f"a path from Input {node.name!r}, not among them")
                used.add(id(node))
                done.add(id(node))
                continue
            if expanded:
                done.add(id(node))
                order.append(node)
                continue
            stack.append((node, True))
            for t in reversed(node.inputs):
                if id(t.node) not in done:
                    stack.append((t.node, False))
    unused = [t.name for t in inputs if id(t.node) not in used]
    if unused:
        fail("Model", "every input to reach an output", f"input {unused[0]!r} unused")
    return order


def _unique(items):
    seen, out = set(), []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


def _leaf_layers(layer):
    return layer._leaves if isinstance(layer, Model) else [layer]


def _held_grads(layer, seen):
    """(leaf, copies of its grads, frozen) for each layer a step's backward would
    overwrite but must keep: a frozen layer's gradients (given back after) and, from a
    shared layer's second call in this backward on, the sum of its earlier calls
    (added back after).  ``seen`` collects the layers whose first call has run."""
    held = []
    for leaf in _leaf_layers(layer):
        if not leaf.grads:
            continue
        frozen = not (layer.trainable and leaf.trainable)
        if not frozen and id(leaf) not in seen:
            seen.add(id(leaf))
            continue
        held.append((leaf, [g.copy() for g in leaf.grads], frozen))
    return held


def _accumulate(grads, owned, k, g):
    if grads[k] is None:
        grads[k] = g
    elif k in owned:
        grads[k] += g
    else:
        grads[k] = grads[k] + g
        owned.add(k)


def _param_count(layer):
    return sum(int(p.size) for leaf in _leaf_layers(layer) for p in leaf.params)


def _batch_text(shape):
    return "(None, " + ", ".join(map(str, shape)) + ")"


def _table(header, rows, leaves, trainable):
    widths = [max(len(r[k]) for r in rows + [header]) for k in range(len(header))]

    def line(row):
        return "  ".join(f"{cell:<{w}}" if k != 2 else f"{cell:>{w}}"
                         for k, (cell, w) in enumerate(zip(row, widths))).rstrip()

    total = sum(int(p.size) for layer in leaves for p in layer.params)
    active = sum(int(p.size) for layer in trainable for p in layer.params)
    state = sum(int(s.size) for layer in leaves for s in layer.state)
    rule = "=" * (sum(widths) + 2 * (len(header) - 1))
    return "\n".join([line(header), rule, *map(line, rows), rule,
                      f"Total params: {total + state:,}", f"Trainable params: {active:,}",
                      f"Non-trainable params: {total - active + state:,}"])
