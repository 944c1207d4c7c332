"""The Layer contract shared by every layer (API.md, "Layers")."""
import numpy as np

from .._validation import as_dtype, as_real_array, check_same_shape


class Layer:
    """Base class of every layer.

    Attributes:
        params:   list of parameter arrays ([] for layers without parameters).
        grads:    list of arrays of the same shapes, filled by ``backward``.
        training: True by default; ``Sequential.train()`` / ``.eval()`` set it.
        dtype:    the dtype of outputs and parameters (float32 or float64).

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

    def __init__(self, dtype=np.float32):
        self.dtype = as_dtype(dtype, type(self).__name__)
        self.params = []
        self.grads = []
        self.training = True

    @property
    def name(self):
        return type(self).__name__

    def __call__(self, input_data):
        return self.forward(input_data)

    def forward(self, input_data):
        """The layer's output for a batch ``input_data`` (shape and formula in the
        class docstring); keeps what backward needs."""
        raise NotImplementedError(f"{self.name} does not implement forward")

    def backward(self, grad_output):
        """``(dL/d input, param_grads)`` from ``grad_output`` = dL/d output of the last
        forward; param_grads is ``self.grads`` (filled here) or None."""
        raise NotImplementedError(f"{self.name} does not implement backward")

    def _backward(self, grad_output, input_grad):
        """``backward`` as Sequential's training step calls it: a network's first layer
        needs no dL/d input, so layers that can skip computing it (Conv2D, Dense) override
        this and return None in its place when ``input_grad`` is False."""
        return self.backward(grad_output)

    # ---- helpers for subclasses ------------------------------------------------------------
    def _require_forward(self, cache):
        if cache is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        return cache

    def _check_grad(self, grad_output, output_like):
        """The upstream gradient: float (by the input policy), output's shape, cast to
        the layer's dtype."""
        grad = as_real_array(grad_output, self.name, "grad_output")
        check_same_shape(grad, output_like, self.name, "grad_output")
        return grad.astype(self.dtype, copy=False)

    def _param_grads(self):
        return self.grads if self.params else None

    # ---- description, used by Sequential.summary / save / load ---------------------------------
    def get_config(self):
        """Constructor arguments that rebuild this layer (JSON-serialisable)."""
        return {"dtype": np.dtype(self.dtype).name}

    def output_shape(self, input_shape):
        """Output shape (without batch) for an input shape (without batch)."""
        return tuple(input_shape)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{self.name}({args})"
