"""Sequential: a model that is a chain of layers (API.md, "Model")."""
from .._validation import fail
from ..layers import Layer
from ..layers.node import SINGLE
from .graph import Model, _param_count, _Step


class Sequential(Model):
    """A stack of layers applied in order: y = f_L(... f_2(f_1(x))).

    Backward runs the chain rule in reverse: each layer turns dL/d(its output)
    into dL/d(its input) and fills its parameter gradients, so
    dL/dx = J_1^T J_2^T ... J_L^T dL/dy.

    A Sequential is a ``Model`` whose graph is a chain: it has every method of
    Model (fit, evaluate, predict, save, ...) and, called on a symbolic tensor,
    becomes one node of a larger graph.  ``params`` / ``grads`` list one group per
    trainable layer that has parameters, holding the layers' own arrays, so
    ``optimizer.step(model.params, model.grads)`` updates the layers in place.

    Shapes: whatever the first layer takes to whatever the last layer gives.

    Example:
        >>> model = Sequential([Dense(64, 128), ReLU(), Dense(128, 10)])
        >>> model.compile(SparseCategoricalCrossEntropy(from_logits=True), SGD(0.1))
    """

    def __init__(self, layers, name=None):
        if not isinstance(layers, (list, tuple)):
            fail("Sequential", "a list of layers", type(layers).__name__, TypeError)
        if not layers:
            fail("Sequential", "at least one layer", "an empty list")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                fail("Sequential", f"a Layer at position {i}", type(layer).__name__, TypeError)
        self._init_model(name)
        self._single_input = self._single_output = True
        self._input_shapes, self._input_names = [], []
        steps = [_Step(layer, SINGLE, [i], [i + 1], input_grad=i > 0)
                 for i, layer in enumerate(layers)]
        self._finish(steps, 1, [len(layers)], len(layers) + 1)
        self.dtype = layers[-1].dtype

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        for step in self._steps:
            shape = step.layer.output_shape(shape)
        return shape

    def _output_names(self):
        return [self._steps[-1].layer.name]

    def summary(self, input_shape=None):
        """A table of layers with output shapes and parameter counts, and the total.

        Shapes are chained with ``layer.output_shape`` from ``input_shape``
        (without the batch axis), by default the first layer's declared
        ``input_size`` where it has one; unknown shapes show as "?".
        """
        first = self._steps[0].layer
        if input_shape is None and getattr(first, "input_size", None) is not None:
            input_shape = (first.input_size,)
        shape = tuple(input_shape) if input_shape is not None else None
        rows = []
        for i, step in enumerate(self._steps):
            layer = step.layer
            shape = tuple(layer.output_shape(shape)) if shape is not None else None
            text = "(N, " + ", ".join(map(str, shape)) + ")" if shape is not None else "?"
            count = _param_count(layer)
            rows.append((f"{i}: {layer.owner}", text, f"{count:,}"))
        total = sum(int(p.size) for group in self.params for p in group)
        header = ("Layer", "Output shape", "Params")
        widths = [max(len(r[k]) for r in rows + [header]) for k in range(3)]

        def line(row):
            return (f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  "
                    f"{row[2]:>{widths[2]}}").rstrip()

        rule = "=" * (sum(widths) + 4)
        return "\n".join([line(header), rule, *map(line, rows), rule,
                          f"Total params: {total:,}"])

    def __repr__(self):
        return f"Sequential({[step.layer for step in self._steps]!r})"
