"""Metrics: plain functions ``metric(y_pred, y_true) -> float``.

``Sequential.compile(metrics=(...))`` takes their names ("accuracy",
"binary_accuracy") or any callable of that form.
"""
import numpy as np

from ._validation import check_finite, fail


def _labels(y_true, n, num_classes, owner):
    """Integer class labels (N,) from int labels (N,) or one-hot / soft targets (N, C)."""
    y = np.asarray(y_true)
    if y.ndim == 2 and y.shape == (n, num_classes):
        return y.argmax(axis=1)
    if y.ndim == 1 and y.shape[0] == n and (y.dtype.kind in "iu" or y.dtype == bool):
        return y
    fail(owner, f"integer labels of shape ({n},) or one-hot targets of shape ({n}, {num_classes})",
         f"shape {y.shape} dtype {y.dtype}")


def accuracy(y_pred, y_true):
    """Fraction of samples whose predicted class is the true class.

    The predicted class is argmax over the last axis of y_pred (N, C): logits or
    probabilities give the same answer, since softmax preserves the order.
    y_true: integer labels (N,) or one-hot targets (N, C).  A single-column
    output (N, 1) or (N,) is a binary classifier and goes to ``binary_accuracy``.

    Example:
        >>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
        0.5
    """
    pred = np.asarray(y_pred)
    if pred.ndim == 1 or (pred.ndim == 2 and pred.shape[1] == 1):
        return binary_accuracy(pred, y_true)
    if pred.ndim != 2 or pred.shape[0] == 0:
        fail("accuracy", "y_pred of shape (N, C) with N >= 1", f"shape {pred.shape}")
    labels = _labels(y_true, pred.shape[0], pred.shape[1], "accuracy")
    return float(np.mean(pred.argmax(axis=1) == labels))


def binary_accuracy(y_pred, y_true, threshold=0.5):
    """Fraction of samples with (y_pred > threshold) == y_true, for y_pred (N,)
    or (N, 1) and y_true in {0, 1} of the same length.

    threshold 0.5 suits probabilities (a sigmoid output); use 0.0 for logits.

    Example:
        >>> binary_accuracy(np.array([0.9, 0.2, 0.7]), np.array([1, 0, 0]))
        0.6666666666666666
    """
    threshold = check_finite(threshold, "binary_accuracy", "threshold")
    pred = np.asarray(y_pred)
    if pred.ndim == 2 and pred.shape[1] == 1:
        pred = pred[:, 0]
    if pred.ndim != 1 or pred.shape[0] == 0:
        fail("binary_accuracy", "y_pred of shape (N,) or (N, 1) with N >= 1",
             f"shape {np.shape(y_pred)}")
    y = np.asarray(y_true).reshape(-1) if np.ndim(y_true) == 2 else np.asarray(y_true)
    if y.shape != pred.shape:
        fail("binary_accuracy", f"y_true of shape ({pred.shape[0]},) or ({pred.shape[0]}, 1)",
             f"shape {np.shape(y_true)}")
    return float(np.mean((pred > threshold) == (y > 0.5)))


METRICS = {"accuracy": accuracy, "binary_accuracy": binary_accuracy}


def get(metric):
    """(name, function) of a metric given by name or as a callable."""
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    if not isinstance(metric, str) or metric not in METRICS:
        fail("metrics", f"a metric name in {sorted(METRICS)} or a callable", metric)
    return metric, METRICS[metric]
