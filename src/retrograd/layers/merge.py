"""Merge layers: several tensors in, one out (API.md, second part, "Models as graphs").

They join the branches of a graph: the residual connection of a ResNet block is
``Add()([h, x])`` (textbook ch. 22), an Inception-style block ends in
``Concatenate()``.  ``forward`` takes a list of arrays of equal shapes
(Concatenate: equal but along ``axis``); ``backward(grad)`` returns
``(list of input gradients, None)``.  The arithmetic is element-wise NumPy,
already at memory speed, so both backends share it.
"""
import numbers

import numpy as np

from .._validation import as_float_array, check_allocation, fail
from .base import Layer


class _Merge(Layer):
    """Base of the merge layers: checks the list of inputs and keeps what backward needs."""

    min_inputs, max_inputs = 2, None

    def _count_text(self):
        if self.max_inputs == self.min_inputs:
            return f"exactly {self.min_inputs} inputs"
        return f"a list of at least {self.min_inputs} inputs"

    def _check_count(self, inputs, what):
        if not isinstance(inputs, (list, tuple)):
            fail(self.owner, f"{self._count_text()} as a list", type(inputs).__name__,
                 TypeError)
        if len(inputs) < self.min_inputs or (self.max_inputs and len(inputs) > self.max_inputs):
            fail(self.owner, self._count_text(), f"{len(inputs)} {what}")

    def _check_shapes(self, shapes, batch):
        """Equal shapes (batch axis included when ``batch``), else both shapes named."""
        first = shapes[0]
        for shape in shapes[1:]:
            if shape != first:
                _mismatch(self.owner, "inputs of equal shapes", first, shape, batch)

    def __call__(self, *inputs):
        """``layer([x1, x2, ...])``: one list, of arrays (computed at once) or of symbolic
        tensors (a graph node).  Separate arguments or a lone tensor are refused here,
        so a graph never records a call that could not run."""
        if len(inputs) != 1 or not isinstance(inputs[0], (list, tuple)):
            got = (f"{len(inputs)} separate arguments" if len(inputs) != 1
                   else type(inputs[0]).__name__)
            fail(self.owner, f"{self._count_text()} as a list", got, TypeError)
        return super().__call__(inputs[0])

    def _arrays(self, inputs):
        self._check_count(inputs, "inputs")
        arrays = [as_float_array(x, self.owner, self.dtype, f"input {i}")
                  for i, x in enumerate(inputs)]
        for i, x in enumerate(arrays):
            if x.ndim < 1 or x.shape[0] == 0:
                fail(self.owner, f"input {i} a non-empty batch (N, ...)", x.shape)
        return arrays

    def _shape_list(self, input_shapes):
        """The list of input shapes ``output_shape`` takes, checked."""
        self._check_count(input_shapes, "input shapes")
        if not all(isinstance(s, (list, tuple)) for s in input_shapes):
            fail(self.owner, "a list of input shapes (one tuple per input)", input_shapes,
                 TypeError)
        return [tuple(s) for s in input_shapes]

    def output_shape(self, input_shapes):
        shapes = self._shape_list(input_shapes)
        self._check_shapes(shapes, batch=False)
        return shapes[0]

    def forward(self, inputs):
        arrays = self._arrays(inputs)
        self._check_shapes([x.shape for x in arrays], batch=True)
        kept = self._keep(arrays)
        # Concatenate's output is larger than any input: refused before allocating
        check_allocation(self._output_shape(kept), self.dtype, self.owner, "an output")
        self._cache = kept
        return self._combine(arrays)

    def backward(self, grad_output):
        kept = self._require_forward(self._cache)
        grad = self._check_grad(grad_output, np.broadcast_to(np.empty((), bool),
                                                             self._output_shape(kept)))
        return self._split(grad, kept), None

    # what subclasses define
    def _keep(self, arrays):
        """What backward needs: by default the shape and the number of inputs."""
        return arrays[0].shape, len(arrays)

    def _output_shape(self, kept):
        return kept[0]


def _text(shape, batch):
    """A shape as users see it: symbolic shapes get the batch axis as None."""
    dims = ", ".join(map(str, shape))
    return f"({dims})" if batch else f"(None, {dims})"


def _mismatch(owner, what, first, other, batch):
    raise ValueError(f"{owner}: expected {what}, got {_text(first, batch)} and "
                     f"{_text(other, batch)}")


class Add(_Merge):
    """Element-wise sum: y = x_1 + ... + x_k;  dL/dx_i = dL/dy.

    Args:
        dtype: float32 (default) or float64; name: the layer's name.

    Shapes: a list of k >= 2 inputs of one shape (N, ...) -> that shape.

    Example:
        >>> Add()([np.ones((2, 3)), np.ones((2, 3))])[0]
        array([2., 2., 2.], dtype=float32)
    """

    def _combine(self, arrays):
        out = arrays[0] + arrays[1]
        for x in arrays[2:]:
            out += x
        return out

    def _split(self, grad, kept):
        return [grad] * kept[1]


class Subtract(_Merge):
    """Difference of two inputs: y = x_1 - x_2;  dL/dx_1 = dL/dy, dL/dx_2 = -dL/dy.

    Shapes: a list of exactly 2 inputs of one shape (N, ...) -> that shape.

    Example:
        >>> Subtract()([np.ones((1, 2)), np.ones((1, 2))])
        array([[0., 0.]], dtype=float32)
    """

    max_inputs = 2

    def _combine(self, arrays):
        return arrays[0] - arrays[1]

    def _split(self, grad, kept):
        return [grad, -grad]


class Multiply(_Merge):
    """Element-wise product: y = x_1 * ... * x_k;
    dL/dx_i = dL/dy * prod_{j != i} x_j (computed without dividing, so zeros are safe).

    Shapes: a list of k >= 2 inputs of one shape (N, ...) -> that shape.

    Example:
        >>> Multiply()([np.full((1, 2), 2.0), np.full((1, 2), 3.0)])
        array([[6., 6.]], dtype=float32)
    """

    def _keep(self, arrays):
        return arrays

    def _output_shape(self, kept):
        return kept[0].shape

    def _combine(self, arrays):
        out = arrays[0] * arrays[1]
        for x in arrays[2:]:
            out *= x
        return out

    def _split(self, grad, arrays):
        # prefix[i] = x_0 ... x_{i-1} and suffix products, so no division by a zero x_i
        grads, prefix = [], None
        suffix = [None] * len(arrays)
        running = None
        for i in range(len(arrays) - 1, -1, -1):
            suffix[i] = running
            running = arrays[i] if running is None else arrays[i] * running
        for i, x in enumerate(arrays):
            others = [p for p in (prefix, suffix[i]) if p is not None]
            product = others[0] if len(others) == 1 else others[0] * others[1]
            grads.append(grad * product)
            prefix = x if prefix is None else prefix * x
        return grads


class Average(_Merge):
    """Element-wise mean: y = (x_1 + ... + x_k) / k;  dL/dx_i = dL/dy / k.

    Shapes: a list of k >= 2 inputs of one shape (N, ...) -> that shape.

    Example:
        >>> Average()([np.zeros((1, 2)), np.full((1, 2), 4.0)])
        array([[2., 2.]], dtype=float32)
    """

    def _combine(self, arrays):
        out = arrays[0] + arrays[1]
        for x in arrays[2:]:
            out += x
        out *= self.dtype.type(1 / len(arrays))
        return out

    def _split(self, grad, kept):
        scaled = grad * self.dtype.type(1 / kept[1])
        return [scaled] * kept[1]


class Concatenate(_Merge):
    """Joins the inputs along ``axis``: y = [x_1 | x_2 | ... | x_k];
    dL/dx_i is the slice of dL/dy that x_i filled.

    Args:
        axis: the axis to join along (default -1, the features or channels); the
            batch axis 0 is refused.
        dtype: float32 (default) or float64; name: the layer's name.

    Shapes: inputs equal but along ``axis`` -> the sum of their sizes there.

    Example:
        >>> Concatenate()([np.zeros((2, 3)), np.ones((2, 1))]).shape
        (2, 4)
    """

    def __init__(self, axis=-1, dtype=np.float32, name=None):
        super().__init__(dtype, name)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            fail(self.owner, "axis an integer", axis, TypeError)
        if axis == 0:
            fail(self.owner, "axis other than 0 (the batch axis)", axis)
        self.axis = int(axis)

    def _sample_axis(self, rank):
        """``axis`` as an index into the sample shape (rank = sample rank), or fail."""
        axis = self.axis if self.axis < 0 else self.axis - 1
        if self.axis == 0 or not -rank <= axis < rank:
            fail(self.owner, f"axis in [{-rank}, -1] or [1, {rank}] (not the batch axis) for "
                 f"inputs of rank {rank + 1}", self.axis)
        return axis % rank

    def _check_shapes(self, shapes, batch):
        offset = 1 if batch else 0
        first = shapes[0]
        axis = self._sample_axis(len(first) - offset) + offset
        for shape in shapes[1:]:
            if len(shape) != len(first) or any(a != b for k, (a, b) in
                                                enumerate(zip(shape, first)) if k != axis):
                _mismatch(self.owner, f"inputs of equal shapes but along axis {self.axis}",
                          first, shape, batch)

    def output_shape(self, input_shapes):
        shapes = self._shape_list(input_shapes)
        self._check_shapes(shapes, batch=False)
        axis = self._sample_axis(len(shapes[0]))
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return tuple(out)

    def _keep(self, arrays):
        axis = self._sample_axis(arrays[0].ndim - 1) + 1
        sizes = [x.shape[axis] for x in arrays]
        shape = list(arrays[0].shape)
        shape[axis] = sum(sizes)
        return tuple(shape), axis, sizes

    def _combine(self, arrays):
        return np.concatenate(arrays, axis=self._sample_axis(arrays[0].ndim - 1) + 1)

    def _split(self, grad, kept):
        _, axis, sizes = kept
        return np.split(grad, np.cumsum(sizes)[:-1], axis=axis)

    def get_config(self):
        return {"axis": self.axis, **super().get_config()}
