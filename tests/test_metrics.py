"""Metrics: accuracy for logits / probabilities / one-hot, binary accuracy, lookup by name."""
import numpy as np
import pytest

from retrograd import metrics


def test_accuracy_is_argmax_against_int_labels_or_one_hot():
    logits = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3], [-5.0, 3.0, 2.9], [0.0, 0.0, 1.0]])
    labels = np.array([0, 2, 2, 2])
    assert metrics.accuracy(logits, labels) == 0.75
    assert metrics.accuracy(logits, np.eye(3)[labels]) == 0.75
    # softmax keeps the order, so probabilities give the same answer
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert metrics.accuracy(probabilities, labels) == 0.75


def test_single_column_outputs_are_binary_classifiers():
    assert metrics.accuracy(np.array([[0.9], [0.2], [0.7]]), np.array([1, 0, 0])) == 2 / 3
    assert metrics.binary_accuracy(np.array([0.9, 0.2, 0.7]), np.array([[1], [0], [1]])) == 1.0
    assert metrics.binary_accuracy(np.array([-1.0, 2.0]), np.array([0, 1]), threshold=0.0) == 1.0


@pytest.mark.parametrize("call, message", [
    (lambda: metrics.accuracy(np.zeros((3, 2)), np.zeros(4, int)),
     r"accuracy: expected integer labels of shape \(3,\) or one-hot targets of shape \(3, 2\)"),
    (lambda: metrics.accuracy(np.zeros((3, 2)), np.full(3, 0.5)),
     r"accuracy: expected integer labels"),
    (lambda: metrics.accuracy(np.zeros((2, 3, 4)), np.zeros(2, int)),
     r"accuracy: expected y_pred of shape \(N, C\)"),
    (lambda: metrics.binary_accuracy(np.zeros(3), np.zeros(2)),
     r"binary_accuracy: expected y_true of shape \(3,\) or \(3, 1\)"),
    (lambda: metrics.binary_accuracy(np.zeros(3), np.zeros(3), threshold=float("nan")),
     r"binary_accuracy: expected threshold a finite number"),
    (lambda: metrics.get("f1"), r"metrics: expected a metric name in \['accuracy', "),
])
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_get_resolves_names_and_callables():
    assert metrics.get("accuracy") == ("accuracy", metrics.accuracy)

    def top(y_pred, y_true):
        return 1.0

    assert metrics.get(top) == ("top", top)
