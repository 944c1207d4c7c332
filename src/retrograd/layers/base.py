"""The Layer contract shared by every layer (API.md, "Layers")."""
import numpy as np

from .._validation import as_dtype, check_same_shape, fail


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

    # ---- helpers for subclasses ------------------------------------------------------------
    def _require_forward(self, cache):
        if cache is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        return cache

    def _check_grad(self, grad_output, output_like):
        """The upstream gradient: output's shape, cast to the layer's dtype."""
        grad = check_same_shape(grad_output, output_like, self.name, "grad_output")
        if grad.dtype.kind != "f":
            fail(self.name, "a floating-point grad_output", grad.dtype, TypeError)
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
