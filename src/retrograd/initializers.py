"""Weight initialisers (textbook chapter 24.1).

fan_in / fan_out are the number of inputs / outputs of one unit.
  he_uniform      U(-l, l), l = sqrt(6 / fan_in)                 (ReLU family)
  he_normal       N(0, 2 / fan_in)
  glorot_uniform  U(-l, l), l = sqrt(6 / (fan_in + fan_out))     (Xavier; tanh, sigmoid)
  glorot_normal   N(0, 2 / (fan_in + fan_out))
  lecun_normal    N(0, 1 / fan_in)                               (SELU)
  zeros
"""
import numpy as np

from ._validation import fail


def _uniform(rng, limit, shape):
    return rng.uniform(-limit, limit, size=shape)


INITIALIZERS = {
    "he_uniform": lambda rng, shape, fi, fo: _uniform(rng, np.sqrt(6.0 / fi), shape),
    "he_normal": lambda rng, shape, fi, fo: rng.normal(0.0, np.sqrt(2.0 / fi), size=shape),
    "glorot_uniform": lambda rng, shape, fi, fo: _uniform(rng, np.sqrt(6.0 / (fi + fo)), shape),
    "glorot_normal": lambda rng, shape, fi, fo: rng.normal(0.0, np.sqrt(2.0 / (fi + fo)),
                                                           size=shape),
    "lecun_normal": lambda rng, shape, fi, fo: rng.normal(0.0, np.sqrt(1.0 / fi), size=shape),
    "zeros": lambda rng, shape, fi, fo: np.zeros(shape),
}


def initialize(name, shape, fan_in, fan_out, dtype, seed=None, owner="initializer"):
    """An array of ``shape`` drawn by the initialiser ``name`` with a seeded generator."""
    if name not in INITIALIZERS:
        fail(owner, f"weight_init one of {sorted(INITIALIZERS)}", name)
    rng = np.random.default_rng(seed)
    return INITIALIZERS[name](rng, shape, fan_in, fan_out).astype(dtype)
