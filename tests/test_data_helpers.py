"""Data helpers: seeded mini-batches, one_hot, ImageAugmenter, and fit(..., augment=...)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from retrograd import Sequential
from retrograd.datasets import ImageAugmenter, batches, one_hot
from retrograd.layers import Dense, Flatten
from retrograd.losses import SparseCategoricalCrossEntropy
from retrograd.optimizers import SGD


# ---- batches ----------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 50), seed=st.integers(0, 2**32),
       epoch=st.integers(0, 1000))
def test_batches_cover_every_sample_once_in_the_permutation_of_seed_and_epoch(n, batch_size,
                                                                              seed, epoch):
    x = np.arange(n * 2).reshape(n, 2)
    y = np.arange(n)
    got = list(batches(x, y, batch_size, seed=seed, epoch=epoch))
    assert [len(yb) for _, yb in got] == [min(batch_size, n - b) for b in range(0, n, batch_size)]
    order = np.concatenate([yb for _, yb in got])
    np.testing.assert_array_equal(order, np.random.default_rng([seed, epoch]).permutation(n))
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in got]), x[order])


def test_batches_depend_only_on_seed_and_epoch():
    x, y = np.arange(100.0)[:, None], np.arange(100)
    order = {epoch: np.concatenate([yb for _, yb in batches(x, y, 7, seed=5, epoch=epoch)])
             for epoch in (0, 1, 2)}
    # Asking for epoch 2 directly gives what a run reaching it through 0 and 1 saw.
    again = np.concatenate([yb for _, yb in batches(x, y, 7, seed=5, epoch=2)])
    np.testing.assert_array_equal(order[2], again)
    assert not np.array_equal(order[0], order[1])
    assert not np.array_equal(order[1], order[2])
    other = np.concatenate([yb for _, yb in batches(x, y, 7, seed=6, epoch=0)])
    assert not np.array_equal(order[0], other)


def test_batches_without_shuffle_are_consecutive_views():
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    got = list(batches(x, y, 4, shuffle=False))
    assert [len(yb) for _, yb in got] == [4, 4, 2]
    assert all(np.shares_memory(xb, x) for xb, _ in got)
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in got]), x)


def test_batches_without_a_seed_still_cover_every_sample():
    y = np.arange(30)
    order = np.concatenate([yb for _, yb in batches(y, y, 8)])
    assert sorted(order.tolist()) == list(range(30))


@pytest.mark.parametrize("kwargs, message", [
    ({"y": np.zeros(9)}, "expected x and y with the same number of samples"),
    ({"x": np.zeros((0, 2)), "y": np.zeros(0)}, "expected x and y with at least one sample"),
    ({"batch_size": 0}, "expected batch_size a positive integer, got 0"),
    ({"batch_size": 2.0}, "expected batch_size a positive integer, got 2.0"),
    ({"seed": -1}, "expected seed None or an integer >= 0, got -1"),
    ({"seed": 1.5}, "expected seed None or an integer >= 0, got 1.5"),
    ({"epoch": -2}, "expected epoch an integer >= 0, got -2"),
])
def test_batches_refuse_bad_arguments_when_called(kwargs, message):
    args = {"x": np.zeros((10, 2)), "y": np.zeros(10), "batch_size": 4, **kwargs}
    with pytest.raises(ValueError, match="batches: " + message):
        batches(**args)


# ---- one_hot ----------------------------------------------------------------------------------
def test_one_hot_matches_rows_of_the_identity():
    labels = np.array([2, 0, 1, 2])
    out = one_hot(labels)
    assert out.dtype == np.float32 and out.shape == (4, 3)
    np.testing.assert_array_equal(out, np.eye(3)[labels])
    np.testing.assert_array_equal(one_hot(labels, 5, dtype=np.float64), np.eye(5)[labels])
    assert one_hot(labels, dtype=np.int64).dtype == np.int64


def test_one_hot_keeps_the_label_shape_and_allows_empty_labels_with_num_classes():
    labels = np.array([[0, 3], [1, 1]], dtype=np.uint8)
    out = one_hot(labels, 4)
    assert out.shape == (2, 2, 4)
    np.testing.assert_array_equal(out.argmax(-1), labels)
    assert out.sum() == 4
    assert one_hot(np.zeros(0, np.int64), 3).shape == (0, 3)


@pytest.mark.parametrize("labels, kwargs, error, message", [
    (np.array([0.0, 1.0]), {}, TypeError, "expected integer labels"),
    (np.array([0, 3]), {"num_classes": 3}, ValueError, r"expected labels in \[0, 3\), got 3"),
    (np.array([0, -1]), {}, ValueError, r"expected labels in \[0, 1\), got -1"),
    (np.array([0, 1]), {"num_classes": 0}, ValueError, "expected num_classes a positive integer"),
    (np.zeros(0, np.int64), {}, ValueError, "expected num_classes for empty labels"),
    (np.array([0, 1]), {"dtype": "U3"}, TypeError, "expected a numeric dtype"),
])
def test_one_hot_refuses_bad_input(labels, kwargs, error, message):
    with pytest.raises(error, match="one_hot: " + message):
        one_hot(labels, **kwargs)


# ---- ImageAugmenter ---------------------------------------------------------------------------
def _shifted(image, dy, dx):
    """Reference: image moved down by dy and right by dx, zeros where nothing moved in."""
    out = np.zeros_like(image)
    h, w = image.shape[:2]
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def _images(n=64, h=5, w=6, c=2, seed=0):
    # Strictly positive and distinct pixels, so each shift / flip gives a different image.
    return np.random.default_rng(seed).uniform(1, 2, size=(n, h, w, c)).astype(np.float32)


def test_each_augmented_image_is_one_shift_within_range_possibly_mirrored():
    x = _images()
    out = ImageAugmenter(shift=(1, 2), flip=True, seed=3)(x, epoch=1, batch=4)
    assert out.shape == x.shape and out.dtype == x.dtype
    seen = set()
    for image, result in zip(x, out):
        matches = [(dy, dx, f) for dy in range(-1, 2) for dx in range(-2, 3) for f in (0, 1)
                   if np.array_equal(result, _shifted(image, dy, dx)[:, ::-1] if f
                                     else _shifted(image, dy, dx))]
        assert len(matches) == 1
        seen.add(matches[0])
    # 64 images over 30 outcomes: the draws reach far shifts and both flips.
    assert {s[0] for s in seen} == {-1, 0, 1} and {s[1] for s in seen} == {-2, -1, 0, 1, 2}
    assert {s[2] for s in seen} == {0, 1}


def test_augmentation_is_reproducible_per_seed_epoch_and_batch_and_leaves_the_input():
    x = _images(16)
    before = x.copy()
    augment = ImageAugmenter(shift=1, flip=True, seed=7)
    first = augment(x, epoch=2, batch=5)
    np.testing.assert_array_equal(first, ImageAugmenter(shift=1, flip=True, seed=7)(
        x, epoch=2, batch=5))
    for other in (augment(x, epoch=2, batch=6), augment(x, epoch=3, batch=5),
                  ImageAugmenter(shift=1, flip=True, seed=8)(x, epoch=2, batch=5)):
        assert not np.array_equal(first, other)
    np.testing.assert_array_equal(x, before)


def test_zero_shift_without_flip_is_the_identity_and_flip_only_mirrors():
    x = _images(8)
    np.testing.assert_array_equal(ImageAugmenter()(x), x)
    out = ImageAugmenter(flip=True, seed=0)(x)
    for image, result in zip(x, out):
        assert np.array_equal(result, image) or np.array_equal(result, image[:, ::-1])


@pytest.mark.parametrize("kwargs, call, error, message", [
    ({"shift": -1}, None, ValueError, "expected shift >= 0"),
    ({"shift": 1.5}, None, ValueError, "expected shift an int or a pair of ints"),
    ({"flip": "yes"}, None, TypeError, "expected flip True or False"),
    ({"seed": -3}, None, ValueError, "expected seed None or an integer >= 0"),
    ({}, np.zeros((2, 4, 4)), ValueError,
     r"expected images of shape \(N, H, W, C\), got \(2, 4, 4\)"),
    ({"shift": 4}, np.zeros((2, 4, 5, 1)), ValueError, r"expected shift smaller than the image"),
    ({}, np.zeros((2, 4, 4, 1), dtype=object), TypeError, "expected numeric images"),
])
def test_augmenter_refuses_bad_arguments(kwargs, call, error, message):
    with pytest.raises(error, match="ImageAugmenter: " + message):
        augment = ImageAugmenter(**kwargs)
        augment(call if call is not None else np.zeros((1, 8, 8, 1)))


def test_augmenter_refuses_negative_epoch_and_batch():
    with pytest.raises(ValueError, match="ImageAugmenter: expected batch an integer >= 0"):
        ImageAugmenter(shift=1)(_images(2), epoch=0, batch=-1)


# ---- fit(..., augment=...) ----------------------------------------------------------------------
def _image_model():
    model = Sequential([Flatten(), Dense(5 * 6 * 2, 3, seed=0)])
    return model.compile(SparseCategoricalCrossEntropy(from_logits=True), SGD(0.05))


def test_fit_augments_every_training_batch_and_never_the_validation_data():
    x, y = _images(20), np.arange(20) % 3
    calls = []

    def augment(xb, epoch, batch):
        calls.append((epoch, batch, len(xb)))
        return xb[:, ::-1]

    _image_model().fit(x, y, epochs=2, batch_size=8, validation_data=(x, y), seed=0,
                       verbose=0, augment=augment)
    assert calls == [(e, b, n) for e in (0, 1) for b, n in enumerate((8, 8, 4))]


def test_fit_with_a_seeded_augmenter_is_reproducible_and_differs_from_no_augmentation():
    x, y = _images(24), np.arange(24) % 3
    runs = [_image_model().fit(x, y, epochs=2, batch_size=8, seed=1, verbose=0,
                               augment=ImageAugmenter(shift=1, flip=True, seed=2)).history
            for _ in range(2)]
    assert runs[0] == runs[1]
    plain = _image_model().fit(x, y, epochs=2, batch_size=8, seed=1, verbose=0).history
    assert plain["loss"] != runs[0]["loss"]


def test_fit_refuses_an_augment_that_is_not_callable():
    x, y = _images(4), np.arange(4) % 3
    with pytest.raises(TypeError, match="Sequential.fit: expected augment None or a callable"):
        _image_model().fit(x, y, augment="flip", verbose=0)
