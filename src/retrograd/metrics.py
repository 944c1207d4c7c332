"""Metrics: plain functions ``metric(y_pred, y_true) -> float``.

``Sequential.compile(metrics=(...))`` takes their names ("accuracy",
"binary_accuracy") or any callable of that form.

Inputs follow the losses' rules: y_pred real-valued (any float or integer
dtype, or a list of numbers; complex, object and string data are a TypeError),
y_true numeric, shapes matched exactly, at least one sample.  Class labels
are integers, or integer-valued floats as SparseCategoricalCrossEntropy takes
them, within [0, C).  NaN scores are not errors (argmax counts NaN as the
largest; NaN > threshold is False).
"""
import numpy as np

from ._validation import as_array, check_finite, fail


def _scores(y_pred, owner):
    """y_pred as a real-valued array."""
    pred = as_array(y_pred, owner, "y_pred")
    if pred.dtype.kind not in "biuf":
        fail(owner, "real-valued y_pred", pred.dtype, TypeError)
    return pred


def _targets(y_true, owner):
    """y_true as a numeric array."""
    y = as_array(y_true, owner, "y_true")
    if y.dtype.kind not in "biuf":
        fail(owner, "numeric y_true", y.dtype, TypeError)
    return y


def _labels(y_true, n, num_classes, owner):
    """Integer class labels (N,) in [0, C) from integer (or integer-valued float)
    labels (N,) or one-hot / soft targets (N, C)."""
    y = _targets(y_true, owner)
    if y.ndim == 2 and y.shape == (n, num_classes):
        return y.argmax(axis=1)
    if y.ndim != 1 or y.shape[0] != n or y.dtype.kind == "b":
        fail(owner, f"integer labels of shape ({n},) or one-hot targets of shape "
             f"({n}, {num_classes})", f"shape {y.shape} dtype {y.dtype}")
    if y.dtype.kind == "f":
        fractional = ~(np.isfinite(y) & (y == np.round(y)))
        if fractional.any():
            fail(owner, "integer labels y_true", y[fractional][0].item())
    outside = (y < 0) | (y >= num_classes)
    if outside.any():
        fail(owner, f"class labels in [0, {num_classes})", y[outside][0].item())
    return y


def accuracy(y_pred, y_true):
    """Fraction of samples whose predicted class is the true class.

    The predicted class is argmax over the last axis of y_pred (N, C): logits or
    probabilities give the same answer, since softmax preserves the order.
    y_true: integer labels (N,) in [0, C) or one-hot targets (N, C).  A
    single-column output (N, 1) or (N,) is a binary classifier and goes to
    ``binary_accuracy``.

    Example:
        >>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
        0.5
    """
    pred = _scores(y_pred, "accuracy")
    if pred.ndim == 1 or (pred.ndim == 2 and pred.shape[1] == 1):
        return binary_accuracy(pred, y_true)
    if pred.ndim != 2 or pred.shape[0] == 0:
        fail("accuracy", "y_pred of shape (N, C) with N >= 1", f"shape {pred.shape}")
    labels = _labels(y_true, pred.shape[0], pred.shape[1], "accuracy")
    return float(np.mean(pred.argmax(axis=1) == labels))


def binary_accuracy(y_pred, y_true, threshold=0.5):
    """Fraction of samples with (y_pred > threshold) == (y_true > 0.5), for y_pred
    (N,) or (N, 1) and y_true (0/1, bool or probabilities) of the same length.

    threshold 0.5 suits probabilities (a sigmoid output); use 0.0 for logits.

    Example:
        >>> binary_accuracy(np.array([0.9, 0.2, 0.7]), np.array([1, 0, 0]))
        0.6666666666666666
    """
    owner = "binary_accuracy"
    threshold = check_finite(threshold, owner, "threshold")
    pred = _scores(y_pred, owner)
    if pred.ndim == 2 and pred.shape[1] == 1:
        pred = pred[:, 0]
    if pred.ndim != 1 or pred.shape[0] == 0:
        fail(owner, "y_pred of shape (N,) or (N, 1) with N >= 1", f"shape {np.shape(y_pred)}")
    y = _targets(y_true, owner)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != pred.shape:
        fail(owner, f"y_true of shape ({pred.shape[0]},) or ({pred.shape[0]}, 1)",
             f"shape {np.shape(y_true)}")
    return float(np.mean((pred > threshold) == (y > 0.5)))


METRICS = {"accuracy": accuracy, "binary_accuracy": binary_accuracy}


def get(metric):
    """(name, function) of a metric given by name or as a callable."""
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    if not isinstance(metric, str):
        fail("metrics", f"a metric name in {sorted(METRICS)} or a callable", metric, TypeError)
    if metric not in METRICS:
        fail("metrics", f"a metric name in {sorted(METRICS)} or a callable", metric)
    return metric, METRICS[metric]
