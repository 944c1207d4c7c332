"""Simple image augmentation for NHWC batches: random shifts and mirror flips."""
import numbers

import numpy as np

from .._validation import fail, to_pair
from .batches import check_seed, epoch_rng


class ImageAugmenter:
    """Random translations and horizontal flips of NHWC images, drawn per image.

    For image i, with (dy_i, dx_i) uniform integers in [-shift_h, shift_h] x
    [-shift_w, shift_w] and f_i a fair coin when ``flip`` is on:

        out[i, r, c, :] = x[i, r - dy_i, c' - dx_i, :]   (0 outside the image)
        c' = W - 1 - c if f_i else c

    so a positive dy moves the content down, a positive dx to the right, and a
    flip mirrors left and right after the shift.  The draws for a batch come
    from ``np.random.default_rng([seed, epoch, batch])``: the same seed gives
    the same images for the same (epoch, batch), whatever ran before, which
    keeps seeded and resumed training reproducible.  ``seed=None`` draws fresh
    randomness on every call.

    ``Sequential.fit(..., augment=augmenter)`` calls it on each training
    batch as ``augmenter(x_batch, epoch=epoch, batch=batch)``; validation data
    is never augmented.

    Args:
        shift: largest translation in pixels, an int or a pair (rows, columns), >= 0.
        flip: mirror each image left-right with probability 1/2 (not for digits
            or text, whose mirror images are other symbols or none).
        seed: None or an integer >= 0.

    Shapes: (N, H, W, C) -> (N, H, W, C), same dtype; the input is not modified.

    Example:
        >>> augmenter = ImageAugmenter(shift=1, seed=0)
        >>> model.fit(x, y, epochs=10, seed=0, augment=augmenter)
    """

    def __init__(self, shift=0, flip=False, seed=None):
        self.shift = to_pair(shift, self.name, "shift")
        if min(self.shift) < 0:
            fail(self.name, "shift >= 0 (an int or a pair of ints)", shift)
        if not isinstance(flip, (bool, np.bool_)):
            fail(self.name, "flip True or False", flip, TypeError)
        self.flip = bool(flip)
        self.seed = check_seed(seed, self.name)

    @property
    def name(self):
        return type(self).__name__

    def __call__(self, images, epoch=0, batch=0):
        """The augmented copy of ``images`` (N, H, W, C) for this (epoch, batch)."""
        x = np.asarray(images)
        if x.ndim != 4:
            fail(self.name, "images of shape (N, H, W, C)", x.shape)
        if x.dtype.kind not in "biuf":
            fail(self.name, "numeric images", x.dtype, TypeError)
        for name, value in (("epoch", epoch), ("batch", batch)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                fail(self.name, f"{name} an integer >= 0", value)
        n, height, width, _ = x.shape
        shift_h, shift_w = self.shift
        if shift_h >= max(height, 1) or shift_w >= max(width, 1):
            fail(self.name, f"shift smaller than the image size {(height, width)}", self.shift)
        rng = epoch_rng(self.seed, int(epoch), int(batch))
        dy = rng.integers(-shift_h, shift_h + 1, size=n)
        dx = rng.integers(-shift_w, shift_w + 1, size=n)
        padded = np.pad(x, ((0, 0), (shift_h, shift_h), (shift_w, shift_w), (0, 0)))
        # Row r of the output reads padded row r - dy + shift_h (likewise columns), so one
        # gather does every image's shift, and reversing an image's column index list flips it.
        rows = shift_h - dy[:, None] + np.arange(height)
        cols = shift_w - dx[:, None] + np.arange(width)
        if self.flip:
            flipped = rng.random(n) < 0.5
            cols[flipped] = cols[flipped, ::-1]
        return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]

    def __repr__(self):
        return f"{self.name}(shift={self.shift!r}, flip={self.flip!r}, seed={self.seed!r})"
