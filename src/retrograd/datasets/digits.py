"""The 8x8 handwritten digits shipped with the package."""
import gzip
from importlib import resources

import numpy as np


def load_digits():
    """The UCI optical handwritten digits: 1,797 images of 8x8 pixels, classes 0-9.

    Returns (x, y): x float32 of shape (1797, 8, 8, 1) (NHWC, one channel) with
    values pixel / 16 in [0, 1]; y int64 labels of shape (1797,).

    Data: the test set of "Optical Recognition of Handwritten Digits" by
    E. Alpaydin and C. Kaynak (1998), UCI Machine Learning Repository, CC BY 4.0
    (see datasets/data/NOTICE.md); the same file scikit-learn ships.

    Example:
        >>> x, y = load_digits()
        >>> x.shape, y[:3]
        ((1797, 8, 8, 1), array([0, 1, 2]))
    """
    source = resources.files(__package__).joinpath("data", "digits.csv.gz")
    with source.open("rb") as raw, gzip.open(raw, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    x = (table[:, :64].astype(np.float32) / np.float32(16)).reshape(-1, 8, 8, 1)
    return x, table[:, 64].copy()
