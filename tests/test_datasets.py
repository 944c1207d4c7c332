"""Datasets: the bundled digits, the stratified split, and the IDX reader."""
import gzip

import numpy as np
import pytest

from retrograd.datasets import load_digits, load_idx, train_test_split


# ---- digits -----------------------------------------------------------------------------------
def test_load_digits_shapes_dtypes_range_and_label_counts():
    x, y = load_digits()
    assert x.shape == (1797, 8, 8, 1) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    # pixels are integers 0..16 divided by 16
    np.testing.assert_array_equal(x * 16, np.round(x * 16))
    np.testing.assert_array_equal(np.bincount(y),
                                  [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    # the first image is a zero (the first row of the UCI file)
    assert y[0] == 0 and x[0, 0, :, 0].tolist() == [0, 0, 5 / 16, 13 / 16, 9 / 16, 1 / 16, 0, 0]


# ---- train_test_split -------------------------------------------------------------------------
def test_split_is_disjoint_complete_and_sized_like_scikit_learn():
    x = np.arange(101)
    y = x % 3
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, seed=0)
    assert len(x_test) == 21 and len(x_train) == 80          # ceil(0.2 * 101)
    assert sorted(np.concatenate([x_train, x_test]).tolist()) == list(range(101))
    np.testing.assert_array_equal(y_train, x_train % 3)
    np.testing.assert_array_equal(y_test, x_test % 3)
    assert len(train_test_split(x, y, test_size=7, seed=0)[1]) == 7


def test_split_is_reproducible_with_a_seed_and_shuffled():
    x, y = np.arange(200), np.arange(200) % 4
    first = train_test_split(x, y, seed=3, stratify=y)
    again = train_test_split(x, y, seed=3, stratify=y)
    other = train_test_split(x, y, seed=4, stratify=y)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], other[1])
    assert not np.array_equal(np.sort(first[0]), first[0])   # not left in input order


@pytest.mark.parametrize("test_size", [0.2, 0.33, 0.5, 17])
def test_stratified_split_keeps_class_proportions_within_one_sample(test_size):
    rng = np.random.default_rng(0)
    y = rng.choice(5, size=173, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    x = np.arange(173)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size, stratify=y, seed=1)
    n_test = len(x_test)
    counts = np.bincount(y, minlength=5)
    assert np.all(np.abs(np.bincount(y_test, minlength=5) - counts * n_test / 173) < 1)
    assert np.all(np.abs(np.bincount(y_train, minlength=5) - counts * (173 - n_test) / 173) < 1)
    assert sorted(np.concatenate([x_train, x_test]).tolist()) == list(range(173))


def test_stratified_digits_split_has_360_test_images_36_or_so_per_class():
    x, y = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(x, y, 0.2, stratify=y, seed=0)
    assert x_train.shape == (1437, 8, 8, 1) and x_test.shape == (360, 8, 8, 1)
    assert np.all(np.abs(np.bincount(y_test) - np.bincount(y) * 0.2) < 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"test_size": 0.0}, "expected test_size a fraction in \\(0, 1\\) or a number of samples"),
    ({"test_size": 1.5}, "expected test_size a fraction"),
    ({"test_size": 10}, "expected between 1 and 9 test samples for 10 samples"),
    ({"test_size": 0}, "expected between 1 and 9 test samples"),
    ({"y": np.zeros(9)}, "expected x and y with the same number of samples"),
    ({"stratify": np.zeros(9)}, "expected stratify labels of shape \\(10,\\)"),
])
def test_split_refuses_bad_arguments(kwargs, message):
    args = {"x": np.arange(10), "y": np.zeros(10), **kwargs}
    with pytest.raises(ValueError, match="train_test_split: " + message):
        train_test_split(**args)


# ---- IDX ----------------------------------------------------------------------------------------
def _idx(array, code):
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("dtype, code", [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B),
                                         (np.int32, 0x0C), (np.float32, 0x0D),
                                         (np.float64, 0x0E)])
@pytest.mark.parametrize("compress", [False, True])
def test_load_idx_reads_raw_and_gzip_files(tmp_path, dtype, code, compress):
    array = (np.arange(2 * 3 * 4) * 7 % 100 - (0 if dtype == np.uint8 else 50)).astype(dtype)
    array = array.reshape(2, 3, 4)
    content = _idx(array, code)
    path = tmp_path / ("data.idx.gz" if compress else "data.idx")
    path.write_bytes(gzip.compress(content) if compress else content)
    loaded = load_idx(path)
    assert loaded.dtype == dtype and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)
    loaded[0, 0, 0] = 1   # an ordinary writeable array


def test_load_idx_reads_mnist_style_labels(tmp_path):
    labels = np.array([5, 0, 4, 1, 9], np.uint8)
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + labels.tobytes())
    np.testing.assert_array_equal(load_idx(str(path)), labels)


_GOOD = _idx(np.arange(6, dtype=np.uint8).reshape(2, 3), 0x08)


@pytest.mark.parametrize("content, message", [
    (_GOOD[:-1], "expected 6 data bytes for shape \\(2, 3\\) of uint8, got '5 bytes "
                 "\\(truncated data\\)'"),
    (_GOOD + b"\x00", "expected 6 data bytes .*got '7 bytes \\(trailing bytes after the data\\)'"),
    (_GOOD[:9], "expected 2 dimension sizes \\(12 header bytes\\), got 'a truncated header"),
    (_GOOD[:3], "expected a 4-byte magic number"),
    (b"", "expected a 4-byte magic number"),
    (b"\x01\x00" + _GOOD[2:], "expected magic number 0x00 0x00 .*got '0x01000802'"),
    (b"\x00\x00\x07" + _GOOD[3:], "expected magic number 0x00 0x00 <type code in 0x08, 0x09, "
                                   "0x0B, 0x0C, 0x0D, 0x0E> <ndim>, got '0x00000702'"),
    (b"\x00\x00\x08\x00", "expected at least one dimension, got 'ndim 0'"),
    (b"\x00\x00\x08\x01" + (10).to_bytes(4, "big") + bytes(6),
     "expected 10 data bytes for shape \\(10,\\)"),
    (gzip.compress(_GOOD)[:-6], "expected a complete gzip stream"),
], ids=["truncated-data", "trailing-bytes", "truncated-header", "short-magic", "empty",
        "bad-magic", "unknown-type", "no-dims", "wrong-dims", "damaged-gzip"])
def test_load_idx_refuses_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="load_idx: " + message):
        load_idx(path)


def test_load_idx_reports_gzip_damage_after_decompression(tmp_path):
    path = tmp_path / "bad.idx.gz"
    path.write_bytes(gzip.compress(_GOOD[:-2]))
    with pytest.raises(ValueError, match="truncated data"):
        load_idx(path)
