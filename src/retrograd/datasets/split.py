"""Train / test split, stratified and seeded (as scikit-learn's train_test_split)."""
import numbers

import numpy as np

from .._validation import as_array, check_seed, fail


def train_test_split(x, y, test_size=0.2, stratify=None, seed=None):
    """Split (x, y) into (x_train, x_test, y_train, y_test).

    test_size: a fraction in (0, 1) of the samples (rounded up, as
    scikit-learn does) or a number of samples.  With ``stratify`` (labels of
    shape (N,), usually y) each class c with n_c samples gets n_c * n_test / N
    test samples rounded down, and the samples still missing go to the classes
    with the largest remainders, so every class keeps its proportion within
    one sample.  Both parts are shuffled with ``np.random.default_rng(seed)``.

    x and y may be arrays or lists of any dtype with the same number of samples
    (at least 2); stratify labels must be numbers or strings; seed None or an
    integer >= 0.

    Example:
        >>> x_tr, x_te, y_tr, y_te = train_test_split(x, y, 0.2, stratify=y, seed=0)
        >>> len(x_te) == int(np.ceil(0.2 * len(x)))
        True
    """
    owner = "train_test_split"
    x, y = as_array(x, owner, "x"), as_array(y, owner, "y")
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        fail(owner, "x and y with the same number of samples", f"shapes {x.shape} and {y.shape}")
    n = len(x)
    if n < 2:
        fail(owner, "at least 2 samples to split", f"{n} samples")
    n_test = _test_count(test_size, n, owner)
    rng = np.random.default_rng(check_seed(seed, owner))
    if stratify is None:
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
    else:
        labels = as_array(stratify, owner, "stratify")
        if labels.dtype.kind not in "biufUS":
            fail(owner, "stratify labels of numbers or strings", labels.dtype, TypeError)
        if labels.shape != (n,):
            fail(owner, f"stratify labels of shape ({n},)", f"shape {labels.shape}")
        test, train = _stratified(labels, n_test, rng)
        test, train = rng.permutation(test), rng.permutation(train)
    return x[train], x[test], y[train], y[test]


def _test_count(test_size, n, owner):
    if not isinstance(test_size, numbers.Real):
        fail(owner, "test_size a fraction in (0, 1) or a number of samples", test_size,
             TypeError)
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, numbers.Real) and 0 < test_size < 1:
        n_test = int(np.ceil(test_size * n))
    else:
        fail(owner, "test_size a fraction in (0, 1) or a number of samples", test_size)
    if not 1 <= n_test <= n - 1:
        fail(owner, f"between 1 and {n - 1} test samples for {n} samples",
             f"test_size={test_size!r} ({n_test} samples)")
    return n_test


def _stratified(labels, n_test, rng):
    """Test and train indices with each class's share of the test set."""
    classes, class_of = np.unique(labels, return_inverse=True)
    counts = np.bincount(class_of, minlength=len(classes))
    quota = counts * n_test / len(labels)
    per_class = np.floor(quota).astype(np.int64)
    missing = n_test - int(per_class.sum())
    # Ties in the remainders go to the larger classes, then to the lower labels:
    # a deterministic order, so the seed alone decides the split.
    by_remainder = np.lexsort((np.arange(len(classes)), -counts, -(quota - per_class)))
    per_class[by_remainder[:missing]] += 1
    test, train = [], []
    for c, k in enumerate(per_class):
        members = rng.permutation(np.flatnonzero(class_of == c))
        test.append(members[:k])
        train.append(members[k:])
    return np.concatenate(test), np.concatenate(train)
