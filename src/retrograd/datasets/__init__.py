"""Small datasets and their helpers: the digits shipped with the package, a
stratified train/test split, a reader for MNIST-format IDX files, seeded
mini-batches, one-hot targets and image augmentation."""
from .augment import ImageAugmenter
from .batches import batches, one_hot
from .digits import load_digits
from .idx import load_idx
from .split import train_test_split

__all__ = ["load_digits", "load_idx", "train_test_split", "batches", "one_hot", "ImageAugmenter"]
