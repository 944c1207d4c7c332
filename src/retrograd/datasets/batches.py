"""Mini-batches and one-hot targets."""
import numbers

import numpy as np

from .._validation import as_array, check_allocation, check_positive_int, check_seed, fail


def epoch_rng(seed, *keys):
    """The generator of ``np.random.default_rng([seed, *keys])``, or an unseeded one
    when ``seed`` is None.  Deriving each epoch's (and batch's) randomness from
    these numbers alone, not from a generator advanced through earlier epochs,
    is what lets a run resumed at epoch k repeat the uninterrupted run exactly."""
    return np.random.default_rng(None if seed is None else [seed, *keys])


def batches(x, y, batch_size, shuffle=True, seed=None, epoch=0):
    """Yield (x_batch, y_batch) pairs covering (x, y) once, in batches of
    ``batch_size`` samples (the last one smaller when N is not a multiple).

    With ``shuffle`` the order is the permutation drawn by
    ``np.random.default_rng([seed, epoch])``: the same (seed, epoch) gives the
    same batches, each epoch a different order, and epoch k's order does not
    depend on the epochs before it.  Only the index permutation is shuffled;
    each batch is gathered by fancy indexing, so the dataset is never copied
    as a whole.  Without ``shuffle`` the batches are consecutive slices (views).

    Shapes: x (N, ...), y (N, ...) -> x_batch (B, ...), y_batch (B, ...), B <= batch_size.

    Example:
        >>> for xb, yb in batches(x, y, 32, seed=0, epoch=3):
        ...     model.train_step(xb, yb)
    """
    owner = "batches"
    x, y = as_array(x, owner, "x"), as_array(y, owner, "y")
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        fail(owner, "x and y with the same number of samples", f"shapes {x.shape} and {y.shape}")
    if len(x) == 0:
        fail(owner, "x and y with at least one sample", "0 samples")
    batch_size = check_positive_int(batch_size, owner, "batch_size")
    seed = check_seed(seed, owner)
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
        fail(owner, "epoch an integer >= 0", epoch)
    return _batches(x, y, batch_size, shuffle, seed, int(epoch))


def _batches(x, y, batch_size, shuffle, seed, epoch):
    # A separate generator, so that batches() validates when called, not at the first next().
    for index in batch_indices(len(x), batch_size, shuffle, seed, epoch):
        yield x[index], y[index]


def batch_indices(n, batch_size, shuffle=True, seed=None, epoch=0):
    """The index of each batch of ``batches`` over n samples: slices in order without
    ``shuffle`` (so batches are views), else consecutive pieces of the permutation
    ``np.random.default_rng([seed, epoch]).permutation(n)``.  Models with several
    inputs or outputs gather every array with the same indices."""
    if not shuffle:
        for begin in range(0, n, batch_size):
            yield slice(begin, begin + batch_size)
        return
    order = epoch_rng(seed, epoch).permutation(n)
    for begin in range(0, n, batch_size):
        yield order[begin:begin + batch_size]


def one_hot(labels, num_classes=None, dtype=np.float32):
    """One-hot encoding: out[..., c] = 1 where labels == c, else 0.

    labels: integer array (or list of ints) of any shape with values in
    [0, num_classes); float, bool and other labels are refused (TypeError).
    num_classes defaults to max(labels) + 1.  Returns an array of shape
    labels.shape + (num_classes,) and the given numeric dtype; one larger than
    the machine's memory is refused before it is allocated.

    Example:
        >>> one_hot(np.array([2, 0]), 3)
        array([[0., 0., 1.], [1., 0., 0.]], dtype=float32)
    """
    owner = "one_hot"
    labels = as_array(labels, owner, "labels")
    if labels.dtype.kind not in "iu":
        fail(owner, "integer labels (convert with labels.astype(int))", labels.dtype, TypeError)
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        fail(owner, "a numeric dtype", dtype, TypeError)
    if dtype.kind not in "biuf":
        fail(owner, "a numeric dtype", dtype, TypeError)
    if num_classes is None:
        if labels.size == 0:
            fail(owner, "num_classes for empty labels", None)
        # max(..., 0): negative labels are then reported by the range check below.
        num_classes = max(int(labels.max()), 0) + 1
    num_classes = check_positive_int(num_classes, owner, "num_classes")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)].flat[0]
        fail(owner, f"labels in [0, {num_classes})", bad.item())
    check_allocation(labels.shape + (num_classes,), dtype, owner, "a one-hot array")
    out = np.zeros(labels.shape + (num_classes,), dtype)
    np.put_along_axis(out, labels[..., None].astype(np.intp), 1, axis=-1)
    return out
