"""Symbolic tensors and nodes: what a layer called on ``retrograd.Input`` records
(API.md, second part, "Models as graphs").

A ``SymbolicTensor`` stands for the batch of arrays a model will compute at that
point: it knows its shape without the batch axis, its dtype, and the ``Node`` that
produces it.  A node is one call of one layer: the layer, the tensors it was
called on, how it was called (one tensor, a list, or several positional
tensors) and the tensors it returns.  ``retrograd.Model`` walks these nodes from
its outputs back to its inputs to find the order in which to run them.
"""
import numpy as np

from .._validation import as_dtype, fail

# Calling conventions a node replays: layer(x), layer([x1, x2, ...]), layer(x1, x2, ...).
SINGLE, LIST, ARGS = "single", "list", "args"


class SymbolicTensor:
    """A placeholder for the arrays flowing through one edge of a graph.

    Attributes:
        shape: the shape of one sample (without the batch axis), a tuple of ints.
        dtype: the dtype of the arrays.
        node:  the ``Node`` that produces it (an input node for ``Input``).
        index: which output of that node it is (0 for single-output layers).
    """

    __slots__ = ("shape", "dtype", "node", "index")

    def __init__(self, shape, dtype, node, index=0):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.node = node
        self.index = index

    @property
    def name(self):
        """The producing layer's name (the input's name for an Input)."""
        return self.node.name if self.index == 0 else f"{self.node.name}:{self.index}"

    def __repr__(self):
        dims = ", ".join(map(str, self.shape))
        return f"<SymbolicTensor {self.name!r} shape=(None, {dims}) dtype={self.dtype.name}>"

    def __array__(self, *args, **kwargs):
        raise TypeError(f"{self!r} is symbolic: it has no values until a Model built from it "
                        "is called on arrays")


class Node:
    """One call of ``layer`` on ``inputs`` (symbolic tensors), giving ``outputs``.

    An input node has ``layer`` None, no inputs and one output: the tensor
    ``Input`` returned.  ``style`` records how the layer was called, so that the
    model calls it the same way on arrays.
    """

    __slots__ = ("layer", "inputs", "outputs", "style", "input_name")

    def __init__(self, layer, inputs, style, input_name=None):
        self.layer = layer
        self.inputs = list(inputs)
        self.style = style
        self.outputs = []
        self.input_name = input_name

    @property
    def name(self):
        return self.input_name if self.layer is None else self.layer.name

    def input_shapes(self):
        """The argument of ``layer.output_shape``, in the call's own form."""
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if self.style == SINGLE else shapes


def is_symbolic(inputs):
    """True when a layer call should record a node: a symbolic tensor, or a
    non-empty list or tuple of them."""
    if isinstance(inputs, SymbolicTensor):
        return True
    return (isinstance(inputs, (list, tuple)) and len(inputs) > 0
            and any(isinstance(t, SymbolicTensor) for t in inputs))


def symbolic_call(layer, style, tensors):
    """Record the node of ``layer`` called on ``tensors`` and return its output tensor
    (a list of them when the layer gives several outputs).  The output shape is
    computed now, by ``layer.output_shape``, so a shape mismatch is a ValueError
    naming the layer and both shapes here, not at the first batch."""
    for i, t in enumerate(tensors):
        if not isinstance(t, SymbolicTensor):
            fail(layer.owner, f"every input symbolic (a retrograd.Input or a layer's output) "
                 f"when one is", f"{type(t).__name__} at position {i}", TypeError)
    node = Node(layer, tensors, style)
    try:
        shapes = layer.output_shape(node.input_shapes())
    except ValueError as exc:
        raise ValueError(f"{exc} (layer {layer.name!r} called on "
                         f"{', '.join(repr(t) for t in tensors)})") from None
    single = isinstance(shapes, tuple)
    for index, shape in enumerate([shapes] if single else shapes):
        node.outputs.append(SymbolicTensor(shape, layer.dtype, node, index))
    return node.outputs[0] if single else list(node.outputs)


_input_count = [0]


def Input(shape, dtype=np.float32, name=None):
    """A symbolic model input: one sample's ``shape`` (without the batch axis).

    Layers called on it record nodes; ``retrograd.Model(inputs, outputs)`` turns
    the recorded graph into a model.

    Example:
        >>> x = retrograd.Input(shape=(8, 8, 1))
        >>> y = Dense(64, 10)(Flatten()(x))
        >>> model = retrograd.Model(x, y)
    """
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if (not isinstance(shape, (tuple, list))
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1
                       for s in shape)):
        fail("Input", "shape a tuple of sizes >= 1 without the batch axis", shape,
             TypeError if not isinstance(shape, (tuple, list)) else ValueError)
    dtype = as_dtype(dtype, "Input")
    if name is None:
        name = "input" if _input_count[0] == 0 else f"input_{_input_count[0]}"
        _input_count[0] += 1
    elif not isinstance(name, str) or not name:
        fail("Input", "name a non-empty string", name,
             ValueError if isinstance(name, str) else TypeError)
    node = Node(None, [], SINGLE, input_name=name)
    tensor = SymbolicTensor(tuple(int(s) for s in shape), dtype, node)
    node.outputs.append(tensor)
    return tensor
