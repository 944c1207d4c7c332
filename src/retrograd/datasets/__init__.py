"""Small datasets and their helpers: the digits shipped with the package, a
stratified train/test split, and a reader for MNIST-format IDX files."""
from .digits import load_digits
from .idx import load_idx
from .split import train_test_split

__all__ = ["load_digits", "load_idx", "train_test_split"]
