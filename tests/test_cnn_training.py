"""End to end: the small CNN learns the 8x8 digits on every backend.

Recipe: Conv2D(1, 8, 3, padding=1), ReLU, MaxPooling2D(2), Conv2D(8, 16, 3, padding=1),
ReLU, MaxPooling2D(2), Flatten, Dense(64, 64), ReLU, Dense(64, 10); Adam lr 1e-3, batch 32,
SparseCategoricalCrossEntropy(from_logits=True); 80/20 stratified split with seed 0.
PyTorch reaches 96.3% test accuracy with it in 20 epochs.  Here 30 epochs give 95.6-97.5%
over weight seeds 0-7, 40 epochs 95.8-98.3% over seeds 0-9 (seed 0, used below, is the
lowest: 95.8% on both backends), so 40 epochs keep every seed above the 95% asked.
"""
import numpy as np
import pytest

import retrograd
from retrograd.datasets import load_digits, train_test_split
from retrograd.layers import Conv2D, Dense, Flatten, MaxPooling2D, ReLU
from retrograd.losses import SparseCategoricalCrossEntropy
from retrograd.optimizers import Adam

from conftest import BACKENDS

EPOCHS = 40


def small_cnn(seed):
    return retrograd.Sequential([
        Conv2D(1, 8, 3, padding=1, seed=seed), ReLU(), MaxPooling2D(2),
        Conv2D(8, 16, 3, padding=1, seed=seed + 1), ReLU(), MaxPooling2D(2),
        Flatten(), Dense(16 * 2 * 2, 64, seed=seed + 2), ReLU(), Dense(64, 10, seed=seed + 3)])


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits()
    return train_test_split(x, y, 0.2, stratify=y, seed=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_small_cnn_reaches_95_percent_test_accuracy(digits, backend):
    x_train, x_test, y_train, y_test = digits
    assert x_train.shape[1:] == (8, 8, 1)
    with retrograd.use_backend(backend):
        model = small_cnn(seed=0)
        model.compile(SparseCategoricalCrossEntropy(from_logits=True), Adam(learning_rate=1e-3))
        history = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=32, seed=0, verbose=0)
        result = model.evaluate(x_test, y_test)
    losses = history.history["loss"]
    assert len(losses) == EPOCHS and np.all(np.isfinite(losses))
    assert losses[-1] < 0.25 * losses[0]
    assert result["accuracy"] >= 0.95, result
