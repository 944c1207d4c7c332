"""The Layer contract shared by every layer (API.md, "Layers")."""
import itertools
import re

import numpy as np

from .. import regularizers
from .._validation import as_dtype, as_real_array, check_same_shape, fail
from .node import ARGS, LIST, SINGLE, is_symbolic, symbolic_call

# Per class: the next number of an automatic name ("dense", "dense_1", ... as Keras).
_name_counters = {}


class Layer:
    """Base class of every layer.

    Attributes:
        params:    list of parameter arrays ([] for layers without parameters).
        grads:     list of arrays of the same shapes, filled by ``backward``.
        state:     non-trainable arrays saved with the model and never touched by
                   optimizers (BatchNormalization's moving statistics); [] for most layers.
        training:  True by default; ``Model.train()`` / ``.eval()`` set it.
        trainable: True by default; a frozen layer (False) keeps its params out of
                   ``model.params`` (no gradient, no update) and still passes
                   gradients to its input.
        dtype:     the dtype of outputs and parameters (float32 or float64).
        name:      unique within a model: ``name=`` or an automatic one ("dense",
                   "dense_1", ...); error messages name the class (``owner``).

    Called on an ndarray, a layer computes at once (``layer(x)`` is
    ``layer.forward(x)``); called on a symbolic tensor (``retrograd.Input`` or
    another layer's output) it records a node of a graph and returns the
    symbolic output, its shape checked by ``output_shape`` there and then.

    ``forward(input_data) -> output``; ``backward(grad_output) -> (grad_input,
    param_grads)`` where ``param_grads`` is ``self.grads`` or None when the
    layer has no parameters.

    Inputs, for every layer: float arrays of any width (float16 included) are cast
    to ``dtype``; Python lists and tuples of numbers are converted, as Keras does;
    bool and integer arrays are refused with a TypeError (they usually hold labels,
    masks or raw pixels: cast them explicitly, e.g. ``x.astype(np.float32) / 255``),
    as are complex, object and string data.  A wrong rank or size, an empty batch
    or an array too large for the machine's memory raises a ValueError naming the
    layer, before anything is computed.  NaN and infinities are data, not errors:
    they propagate to the outputs of the samples that hold them.
    """

    # Names of the params / state arrays in files (format 3); "param<j>" where unnamed.
    param_names = ()
    state_names = ()
    # A penalty on params[0] (the kernel) added to the training loss: layers that take
    # ``kernel_regularizer=`` (Dense, Conv2D, recurrent layers) set it (retrograd.regularizers).
    kernel_regularizer = None

    def __init__(self, dtype=np.float32, name=None):
        self.dtype = as_dtype(dtype, type(self).__name__)
        self.name = _checked_name(name, type(self).__name__) if name is not None else \
            _automatic_name(type(self).__name__)
        self.params = []
        self.grads = []
        self.state = []
        self.training = True
        self.trainable = True
        self._cache = None

    @property
    def owner(self):
        """The name error messages give: the class the user called."""
        return type(self).__name__

    def __call__(self, *inputs):
        """``forward`` on arrays; on symbolic tensors, a new graph node (see the class
        docstring).  Several positional inputs are passed to forward as they are."""
        if len(inputs) == 1:
            if is_symbolic(inputs[0]):
                single = not isinstance(inputs[0], (list, tuple))
                return symbolic_call(self, SINGLE if single else LIST,
                                     [inputs[0]] if single else list(inputs[0]))
            return self.forward(inputs[0])
        if any(is_symbolic(t) for t in inputs):
            return symbolic_call(self, ARGS, list(inputs))
        return self.forward(*inputs)

    def forward(self, input_data):
        """The layer's output for a batch ``input_data`` (shape and formula in the
        class docstring); keeps what backward needs."""
        raise NotImplementedError(f"{self.owner} does not implement forward")

    def backward(self, grad_output):
        """``(dL/d input, param_grads)`` from ``grad_output`` = dL/d output of the last
        forward; param_grads is ``self.grads`` (filled here) or None."""
        raise NotImplementedError(f"{self.owner} does not implement backward")

    def _backward(self, grad_output, input_grad):
        """``backward`` as a model's training step calls it: a layer fed by the model's
        inputs needs no dL/d input, so layers that can skip computing it (Conv2D, Dense)
        override this and return None in its place when ``input_grad`` is False."""
        return self.backward(grad_output)

    # ---- helpers for subclasses ------------------------------------------------------------
    def _require_forward(self, cache):
        if cache is None:
            raise RuntimeError(f"{self.owner}: backward called before forward")
        return cache

    def _check_grad(self, grad_output, output_like):
        """The upstream gradient: float (by the input policy), output's shape, cast to
        the layer's dtype."""
        grad = as_real_array(grad_output, self.owner, "grad_output")
        check_same_shape(grad, output_like, self.owner, "grad_output")
        return grad.astype(self.dtype, copy=False)

    def _param_grads(self):
        return self.grads if self.params else None

    # ---- description, used by Sequential.summary / save / load ---------------------------------
    def get_config(self):
        """Constructor arguments that rebuild this layer (JSON-serialisable)."""
        config = {"dtype": np.dtype(self.dtype).name}
        if self.kernel_regularizer is not None:
            config["kernel_regularizer"] = regularizers.config_of(self.kernel_regularizer)
        return config

    def output_shape(self, input_shape):
        """Output shape (without batch) for an input shape (without batch)."""
        return tuple(input_shape)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{self.owner}({args})"


def _snake_case(class_name):
    """Dense -> dense, MaxPooling2D -> max_pooling2d, GELU -> gelu (Keras's rule)."""
    words = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()


def _automatic_name(class_name):
    base = _snake_case(class_name)
    counter = _name_counters.setdefault(base, itertools.count())
    number = next(counter)
    return base if number == 0 else f"{base}_{number}"


def _checked_name(name, owner):
    if not isinstance(name, str) or not name or "/" in name:
        fail(owner, "name a non-empty string without '/'", name, TypeError
             if not isinstance(name, str) else ValueError)
    return name
