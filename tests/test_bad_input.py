"""The bad-input battery (issue 6): every public layer (merge layers included, their
inputs in a list), loss, optimizer and metric, Sequential's fit / predict / evaluate /
train_step, graphs (Input, Model: unreachable outputs, unused inputs, repeated names,
shape mismatches at build time, input lists of the wrong length), one_hot and
train_test_split, on both backends.

Bad input must raise a ValueError or TypeError whose message starts with the
owner's name and says what it expected -- never a crash, a hang, a silent
broadcast or an attempt to allocate more memory than the machine has.  The
dtype policy checked here (module docstring of ``retrograd._validation``):
float arrays of any width are cast, lists of numbers converted, bool / integer
arrays refused (TypeError), complex / object / string data refused
(TypeError).  NaN and infinities in data are not errors: they reach the
outputs of their own samples and nothing crashes.
"""
import contextlib
import math
import re
import tracemalloc

import numpy as np
import pytest

import retrograd
from retrograd import Sequential, _validation, layers, losses, metrics, optimizers
from retrograd.callbacks import TerminateOnNaN
from retrograd.datasets import one_hot, train_test_split

NAN, INF = float("nan"), float("inf")
# What refusing a huge request may cost: the error message and a little bookkeeping.
ALLOCATION_BUDGET = 16 * 2**20


@contextlib.contextmanager
def no_allocation():
    """Asserts that the block allocates (NumPy buffers included) less than
    ALLOCATION_BUDGET bytes at its peak."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1] - base
        if started:
            tracemalloc.stop()
    assert peak < ALLOCATION_BUDGET, f"allocated {peak} bytes before refusing"


@pytest.fixture
def memory_64gib(monkeypatch):
    """A fixed memory limit, so that size tests do not depend on the machine."""
    monkeypatch.setattr(_validation, "memory_limit", lambda: 2**36)


def _values(shape, seed=0):
    """Multiples of 1/4 in [-2, 2]: exact in float16, so casts change nothing;
    the first value of each sample is positive, so no sample is all-zero."""
    x = np.random.default_rng(seed).integers(-8, 9, size=shape) / 4
    x.reshape(shape[0], -1)[:, 0] = 1.25
    return x


# ==== layers ==================================================================================
# name -> (factory(dtype), a good input shape).  Seeded, so two layers from one factory draw the
# same weights, masks and noise.
LAYERS = {
    "Dense": (lambda dt: layers.Dense(4, 3, seed=0, dtype=dt), (2, 4)),
    "Conv2D": (lambda dt: layers.Conv2D(2, 3, 3, padding=1, seed=0, dtype=dt), (2, 5, 5, 2)),
    "MaxPooling2D": (lambda dt: layers.MaxPooling2D(2, dtype=dt), (2, 4, 4, 2)),
    "AveragePooling2D": (lambda dt: layers.AveragePooling2D(2, 1, dtype=dt), (2, 4, 4, 2)),
    "GlobalAveragePooling2D": (lambda dt: layers.GlobalAveragePooling2D(dtype=dt), (2, 3, 3, 2)),
    "GlobalMaxPooling2D": (lambda dt: layers.GlobalMaxPooling2D(True, dtype=dt), (2, 3, 3, 2)),
    "Flatten": (lambda dt: layers.Flatten(dtype=dt), (2, 3, 2)),
    "Dropout": (lambda dt: layers.Dropout(0.5, seed=0, dtype=dt), (2, 8)),
    "Sigmoid": (lambda dt: layers.Sigmoid(dtype=dt), (2, 4)),
    "Tanh": (lambda dt: layers.Tanh(dtype=dt), (2, 4)),
    "Softsign": (lambda dt: layers.Softsign(dtype=dt), (2, 4)),
    "HardSigmoid": (lambda dt: layers.HardSigmoid(dtype=dt), (2, 4)),
    "HardTanh": (lambda dt: layers.HardTanh(dtype=dt), (2, 4)),
    "ReLU": (lambda dt: layers.ReLU(dtype=dt), (2, 4)),
    "LeakyReLU": (lambda dt: layers.LeakyReLU(dtype=dt), (2, 4)),
    "PReLU": (lambda dt: layers.PReLU(4, dtype=dt), (2, 4)),
    "RReLU": (lambda dt: layers.RReLU(seed=0, dtype=dt), (2, 4)),
    "ELU": (lambda dt: layers.ELU(dtype=dt), (2, 4)),
    "SELU": (lambda dt: layers.SELU(dtype=dt), (2, 4)),
    "NoisyReLU": (lambda dt: layers.NoisyReLU(seed=0, dtype=dt), (2, 4)),
    "GELU": (lambda dt: layers.GELU("tanh", dtype=dt), (2, 4)),
    "Swish": (lambda dt: layers.Swish(dtype=dt), (2, 4)),
    "Softmax": (lambda dt: layers.Softmax(dtype=dt), (2, 4)),
    "BatchNormalization": (lambda dt: layers.BatchNormalization(4, dtype=dt), (2, 3, 3, 4)),
    "LayerNormalization": (lambda dt: layers.LayerNormalization(4, dtype=dt), (2, 3, 4)),
}
# Layers whose input has a fixed rank; the others take any rank >= 1 (Flatten >= 2).
FIXED_RANK = ["Dense", "Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
              "GlobalMaxPooling2D"]
IMAGE_LAYERS = FIXED_RANK[1:]
# Layers whose last axis has a required size: (layer, a wrong last size).
LAST_AXIS = [("Dense", 5), ("Conv2D", 3), ("PReLU", 3), ("BatchNormalization", 5),
             ("LayerNormalization", 3)]
# Layers with non-trainable state: how many arrays (the others have none).
STATE_ARRAYS = {"BatchNormalization": 2}
# Layers whose training output mixes samples (batch statistics): a NaN sample makes every
# output NaN there, as in PyTorch; their evaluation mode keeps samples apart.
BATCH_COUPLED = ["BatchNormalization"]
NON_FLOAT = {"int64": np.int64, "int8": np.int8, "uint8": np.uint8, "bool": bool,
             "complex64": np.complex64, "complex128": np.complex128, "object": object,
             "str": "U3"}


def _layer(name):
    make, shape = LAYERS[name]
    return make(np.float32), shape


# Merge layers take one list of inputs: name -> (factory(dtype), the good input shapes).
MERGE_LAYERS = {
    "Add": (lambda dt: layers.Add(dtype=dt), [(2, 4), (2, 4)]),
    "Subtract": (lambda dt: layers.Subtract(dtype=dt), [(2, 4), (2, 4)]),
    "Multiply": (lambda dt: layers.Multiply(dtype=dt), [(2, 3, 2)] * 3),
    "Average": (lambda dt: layers.Average(dtype=dt), [(2, 4)] * 3),
    "Concatenate": (lambda dt: layers.Concatenate(dtype=dt), [(2, 3), (2, 1), (2, 2)]),
}


def test_every_public_layer_is_in_the_battery():
    public = {getattr(layers, name) for name in layers.__all__}
    bases = {layers.Layer, layers.ElementwiseActivation}
    tables = [*LAYERS.values(), *MERGE_LAYERS.values()]
    assert {type(make(np.float32)) for make, _ in tables} == public - bases


@pytest.mark.parametrize("name", list(LAYERS) + list(MERGE_LAYERS))
def test_every_layer_has_a_unique_name_is_trainable_and_has_an_empty_state(name):
    make = {**LAYERS, **MERGE_LAYERS}[name][0]
    first, second = make(np.float32), make(np.float32)
    assert len(first.state) == STATE_ARRAYS.get(name, 0) and first.trainable is True
    assert isinstance(first.name, str) and first.name and first.name != second.name


@pytest.mark.parametrize("base", [layers.Layer, layers.ElementwiseActivation])
def test_the_abstract_bases_compute_nothing(base):
    with pytest.raises(NotImplementedError, match=f"^{base.__name__} "):
        base().forward(np.ones((2, 3), np.float32))


@pytest.mark.parametrize("width", [np.float16, np.longdouble], ids=["float16", "longdouble"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_other_float_widths_are_cast_to_the_layer_dtype(name, width, backend):
    make, shape = LAYERS[name]
    x = _values(shape)
    expected = make(np.float32).forward(x.astype(np.float32))
    got = make(np.float32).forward(x.astype(width))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("kind", ["floats", "ints"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_python_lists_are_converted(name, kind, backend):
    make, shape = LAYERS[name]
    x = _values(shape) * 4 if kind == "ints" else _values(shape)
    data = x.astype(int).tolist() if kind == "ints" else x.tolist()
    layer = make(np.float32)
    got = layer.forward(data)
    np.testing.assert_array_equal(got, make(np.float32).forward(x.astype(np.float32)))
    dx, _ = layer.backward(np.ones(got.shape).tolist())
    assert dx.shape == shape and dx.dtype == np.float32


@pytest.mark.parametrize("dtype", list(NON_FLOAT.values()), ids=list(NON_FLOAT))
@pytest.mark.parametrize("name", list(LAYERS))
def test_non_float_arrays_are_refused(name, dtype, backend):
    layer, shape = _layer(name)
    with pytest.raises(TypeError, match=rf"^{name}: expected a floating-point input, got dtype"):
        layer.forward(np.ones(shape, dtype))


@pytest.mark.parametrize("name", list(LAYERS))
def test_empty_batch_scalar_and_ragged_lists_are_refused(name, backend):
    layer, shape = _layer(name)
    with pytest.raises(ValueError, match=rf"^{name}: expected a non-empty batch.*, got \(0,"):
        layer.forward(np.zeros((0,) + shape[1:], np.float32))
    with pytest.raises(ValueError, match=rf"^{name}: expected .*, got \(\)"):
        layer.forward(np.float32(1.0))
    with pytest.raises(ValueError, match=rf"^{name}: expected input a rectangular array"):
        layer.forward([[1.0, 2.0], [3.0]])


@pytest.mark.parametrize("name", FIXED_RANK + ["Flatten"])
def test_wrong_rank_is_refused(name, backend):
    layer, shape = _layer(name)
    ranks = [1] if name == "Flatten" else [len(shape) - 1, len(shape) + 1]
    for rank in ranks:
        bad = (shape + (1,))[:rank]
        with pytest.raises(ValueError, match=rf"^{name}: expected .*, got \({bad[0]},"):
            layer.forward(np.ones(bad, np.float32))


@pytest.mark.parametrize("name, size", LAST_AXIS)
def test_wrong_channel_or_feature_count_is_refused(name, size, backend):
    layer, shape = _layer(name)
    bad = shape[:-1] + (size,)
    with pytest.raises(ValueError, match=rf"^{name}: expected input of shape .*, got "
                                         rf"{re_shape(bad)}"):
        layer.forward(np.ones(bad, np.float32))


def re_shape(shape):
    """A shape as a regular expression."""
    return r"\(" + ", ".join(map(str, shape)) + r"\)"


def _assert_bad_grad_outputs_refused(layer, name, shape):
    """A grad_output of the wrong shape or of a non-float dtype is refused by name."""
    wrong = shape[:-1] + (shape[-1] + 1,)
    with pytest.raises(ValueError, match=rf"^{name}: expected grad_output of shape "
                                         rf"{re_shape(shape)}, got {re_shape(wrong)}"):
        layer.backward(np.ones(wrong, np.float32))
    for dtype in (np.int32, bool, np.complex128, object):
        with pytest.raises(TypeError, match=f"^{name}: expected a floating-point grad_output"):
            layer.backward(np.ones(shape, dtype))


@pytest.mark.parametrize("axis", [1, 2, 3])
@pytest.mark.parametrize("name", IMAGE_LAYERS)
def test_image_axes_of_size_zero_are_refused(name, axis, backend):
    layer, shape = _layer(name)
    bad = shape[:axis] + (0,) + shape[axis + 1:]
    # Conv2D names its channel count, which 0 is not; the others refuse the empty axis.
    with pytest.raises(ValueError, match=rf"^{name}: expected input of shape \(N, H, W, \w+\)"
                                         rf"( with every size >= 1)?, got {re_shape(bad)}"):
        layer.forward(np.ones(bad, np.float32))


@pytest.mark.parametrize("name", list(LAYERS))
def test_bad_gradients_are_refused(name, backend):
    layer, shape = _layer(name)
    with pytest.raises(RuntimeError, match=f"^{name}: backward called before forward"):
        layer.backward(np.ones(shape, np.float32))
    y = layer.forward(_values(shape))
    _assert_bad_grad_outputs_refused(layer, name, y.shape)


@pytest.mark.parametrize("value", [NAN, INF, -INF], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_non_finite_data_propagate_without_crashing(name, value, backend):
    """Sample 0 is all NaN (or infinite): forward and backward run, sample 1 stays
    finite, and a NaN shows in sample 0's output."""
    layer, shape = _layer(name)
    layer.training = name not in BATCH_COUPLED
    x = _values(shape).astype(np.float32)
    x[0] = value
    with np.errstate(all="ignore"):
        y = layer.forward(x)
        dx, _ = layer.backward(np.ones_like(y))
    assert y.shape[0] == 2 and dx.shape == shape
    assert np.isfinite(y[1]).all() and np.isfinite(dx[1]).all()
    if math.isnan(value):
        assert np.isnan(y[0]).any()


@pytest.mark.parametrize("name", list(LAYERS))
def test_huge_input_views_are_refused_before_allocating(name, backend):
    """A broadcast view takes no memory, but casting or computing on it would: 10**12
    samples are refused before anything is allocated."""
    layer, shape = _layer(name)
    huge = np.broadcast_to(np.float64(0.5), (10**12,) + shape[1:])
    with no_allocation(), pytest.raises(
            ValueError, match=rf"^{name}: expected input of at most .* \(the machine's memory\), "
                              r"got 'shape \(1000000000000,"):
        layer.forward(huge)


@pytest.mark.parametrize("name", list(LAYERS))
def test_half_and_integer_layer_dtypes_are_refused(name):
    make, _ = LAYERS[name]
    for dtype in (np.float16, np.int32, "complex64"):
        with pytest.raises(TypeError, match=f"^{name}: expected dtype float32 or float64"):
            make(dtype)


BAD_LAYER_ARGUMENTS = [
    # activations' hyper-parameters: NaN, infinities, negative slopes, non-numbers
    (lambda: layers.LeakyReLU(alpha=NAN), ValueError, "LeakyReLU: expected alpha a finite number"),
    (lambda: layers.LeakyReLU(alpha=-0.1), ValueError,
     r"LeakyReLU: expected alpha >= 0.0, got -0.1"),
    (lambda: layers.LeakyReLU(alpha="0.1"), TypeError, "LeakyReLU: expected alpha a finite number"),
    (lambda: layers.ELU(alpha=INF), ValueError, "ELU: expected alpha a finite number, got inf"),
    (lambda: layers.ELU(alpha=-1.0), ValueError, r"ELU: expected alpha >= 0.0, got -1.0"),
    (lambda: layers.ELU(alpha=None), TypeError, "ELU: expected alpha a finite number, got None"),
    (lambda: layers.Swish(beta=NAN), ValueError, "Swish: expected beta a finite number, got nan"),
    (lambda: layers.Swish(beta=[1.0]), TypeError, "Swish: expected beta a finite number"),
    (lambda: layers.PReLU(init=-INF), ValueError, "PReLU: expected init a finite number"),
    (lambda: layers.PReLU(num_parameters=0), ValueError, "PReLU: expected num_parameters a pos"),
    (lambda: layers.PReLU(num_parameters="4"), TypeError, "PReLU: expected num_parameters a pos"),
    (lambda: layers.RReLU(lower=-0.1), ValueError, r"RReLU: expected lower >= 0.0, got -0.1"),
    (lambda: layers.RReLU(upper=NAN), ValueError, "RReLU: expected upper a finite number"),
    (lambda: layers.RReLU(lower=0.5, upper=0.2), ValueError, "RReLU: expected lower <= upper"),
    (lambda: layers.HardTanh(min_val=-INF), ValueError, "HardTanh: expected min_val a finite"),
    (lambda: layers.HardTanh(min_val=1.0, max_val=0.0), ValueError,
     "HardTanh: expected min_val < max_val"),
    (lambda: layers.GELU(approximate="exact"), ValueError, "GELU: expected approximate one of"),
    (lambda: layers.Softmax(axis=1.5), ValueError, "Softmax: expected axis an integer, got 1.5"),
    # dropout rates
    (lambda: layers.Dropout(NAN), ValueError, r"Dropout: expected rate a number with 0 <= rate"),
    (lambda: layers.Dropout(-0.1), ValueError, r"Dropout: expected rate a number with 0 <= rate"),
    (lambda: layers.Dropout(1.0), ValueError, r"Dropout: expected rate a number with 0 <= rate"),
    (lambda: layers.Dropout("0.5"), TypeError, r"Dropout: expected rate a number with 0 <= rate"),
    # kernel, stride, padding and pool sizes
    (lambda: layers.Conv2D(1, 1, 3, stride=0), ValueError, "Conv2D: expected stride positive"),
    (lambda: layers.Conv2D(1, 1, 3, stride=(1, -2)), ValueError,
     "Conv2D: expected stride positive"),
    (lambda: layers.Conv2D(1, 1, 3, padding=-1), ValueError, "Conv2D: expected padding >= 0"),
    (lambda: layers.Conv2D(1, 1, 3, padding=(0, -1)), ValueError,
     "Conv2D: expected padding >= 0"),
    (lambda: layers.Conv2D(1, 1, 3, padding=None), TypeError, "Conv2D: expected padding an int"),
    (lambda: layers.Conv2D(1, 1, 0), ValueError, "Conv2D: expected kernel_size positive"),
    (lambda: layers.Conv2D(1, 1, "3"), TypeError, "Conv2D: expected kernel_size an int or a pair"),
    (lambda: layers.Conv2D(1, 1, (3, 3, 3)), ValueError, "Conv2D: expected kernel_size an int"),
    (lambda: layers.Conv2D(1, 1, 3, stride=10**30), ValueError,
     r"Conv2D: expected stride at most 2147483647 \(2\*\*31 - 1\)"),
    (lambda: layers.Conv2D(1, 1, 3, padding=2**40), ValueError,
     "Conv2D: expected padding at most 2147483647"),
    (lambda: layers.Conv2D(0, 1, 3), ValueError, "Conv2D: expected input_channels a positive"),
    (lambda: layers.MaxPooling2D(0), ValueError, "MaxPooling2D: expected pool_size positive"),
    (lambda: layers.MaxPooling2D(2, stride=-1), ValueError, "MaxPooling2D: expected stride pos"),
    (lambda: layers.AveragePooling2D(2, stride=0), ValueError,
     "AveragePooling2D: expected stride positive"),
    (lambda: layers.AveragePooling2D(2.5), ValueError,
     "AveragePooling2D: expected pool_size an int or a pair of ints, got 2.5"),
    (lambda: layers.GlobalMaxPooling2D(keepdims="yes"), TypeError,
     "GlobalMaxPooling2D: expected keepdims True or False"),
    (lambda: layers.Dense(0, 3), ValueError, "Dense: expected input_size a positive integer"),
    (lambda: layers.Dense(4, None), TypeError, "Dense: expected output_size a positive integer"),
    (lambda: layers.Dense(4, 3, weight_init="orthogonal"), ValueError,
     "Dense: expected weight_init one of"),
]
SEEDED = [lambda seed: layers.Dense(2, 2, seed=seed),
          lambda seed: layers.Conv2D(1, 1, 1, seed=seed),
          lambda seed: layers.Dropout(0.5, seed=seed), lambda seed: layers.RReLU(seed=seed),
          lambda seed: layers.NoisyReLU(seed=seed)]
BAD_LAYER_ARGUMENTS += [(lambda make=make, seed=seed: make(seed), error,
                         r"^\w+: expected seed None or an integer >= 0")
                        for make in SEEDED
                        for seed, error in ((-1, ValueError), (1.5, ValueError), ("0", TypeError))]


@pytest.mark.parametrize("make, error, message", BAD_LAYER_ARGUMENTS)
def test_bad_layer_arguments_are_refused(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("backend_name", ["numpy", "native"])
def test_kernel_or_pool_larger_than_the_padded_input(backend_name):
    if backend_name == "native" and not retrograd.native_available():
        pytest.skip("native kernels not built")
    x = np.ones((1, 3, 3, 1), np.float32)
    with retrograd.use_backend(backend_name):
        with pytest.raises(ValueError, match=r"^Conv2D: expected an input whose padded height "
                                             r"and width \(H \+ 2, W \+ 2\) are at least "
                                             r"kernel_size \(6, 6\), got \(1, 3, 3, 1\)"):
            layers.Conv2D(1, 1, 6, padding=1).forward(x)
        for pool in (layers.MaxPooling2D, layers.AveragePooling2D):
            with pytest.raises(ValueError, match=f"^{pool.__name__}: expected an input at least "
                                                 r"as large as pool_size \(4, 4\)"):
                pool(4).forward(x)


# ---- absurd sizes: refused before allocating ------------------------------------------------
HUGE_CONSTRUCTORS = [
    (lambda: layers.Dense(10**7, 10**7), r"^Dense: expected weights of at most .* \(the "
                                         r"machine's memory\), got 'shape \(10000000, 10000000\) "
                                         r"of float32, 364 TiB'"),
    (lambda: layers.Dense(2**62, 2**62), r"^Dense: expected weights of at most"),
    (lambda: layers.Conv2D(10**7, 10**7, 3), r"^Conv2D: expected kernels of at most .*, "
                                             r"got 'shape \(10000000, 10000000, 3, 3\)"),
    (lambda: layers.Conv2D(1, 1, 10**7), r"^Conv2D: expected kernels of at most"),
    (lambda: layers.PReLU(10**13), r"^PReLU: expected slopes alpha of at most"),
    (lambda: layers.MaxPooling2D((2**16, 2**16)),
     r"^MaxPooling2D: expected pool_size with at most 2147483647 positions \(int32 indices\)"),
]


@pytest.mark.parametrize("make, message", HUGE_CONSTRUCTORS)
def test_absurd_layer_sizes_are_refused_before_allocating(make, message):
    with no_allocation(), pytest.raises(ValueError, match=message):
        make()


def test_absurd_outputs_are_refused_before_allocating(backend, memory_64gib):
    # Small inputs (or views taking no memory) whose outputs would take terabytes.
    rows = np.broadcast_to(np.float32(1), (10**7, 2))
    images = np.broadcast_to(np.float32(1), (10**5, 100, 100, 1))
    cases = [
        (layers.Dense(2, 10**6), rows,
         r"^Dense: expected an output of at most 64 GiB \(the machine's memory\), "
         r"got 'shape \(10000000, 1000000\) of float32, 36.4 TiB'"),
        (layers.Conv2D(1, 1, 1, padding=10**6), np.ones((1, 1, 1, 1)),
         r"^Conv2D: expected a padded input of at most 64 GiB .*\(1, 2000001, 2000001, 1\)"),
        (layers.Conv2D(1, 10**4, 1), images,
         r"^Conv2D: expected an output of at most 64 GiB .*\(100000, 100, 100, 10000\)"),
        (layers.GlobalMaxPooling2D(), np.broadcast_to(np.float32(1), (1, 2**16, 2**15 + 1, 1)),
         r"^GlobalMaxPooling2D: expected at most 2147483647 positions H \* W per image "
         r"\(int32 indices\), got \(1, 65536, 32769, 1\)"),
    ]
    for layer, x, message in cases:
        with no_allocation(), pytest.raises(ValueError, match=message):
            layer.forward(x)


def test_the_memory_limit_is_the_machines():
    limit = _validation.memory_limit()
    assert isinstance(limit, int) and 2**26 <= limit <= 2**60


# ==== losses ==================================================================================
def _loss_cases():
    """name -> (loss, good arguments): the float prediction first, then the targets
    (or the other embeddings); 4 samples, 3 columns."""
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(4, 3))
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    labels = np.array([0, 2, 1, 2])
    onehot = np.eye(3)[labels]
    bits = (rng.random((4, 3)) > 0.5).astype(float)
    return {
        "MeanSquaredError": (losses.MeanSquaredError(), (scores, probs)),
        "MeanAbsoluteError": (losses.MeanAbsoluteError(), (scores, probs)),
        "Huber": (losses.Huber(0.5), (scores, probs)),
        "BinaryCrossEntropy": (losses.BinaryCrossEntropy(), (probs, bits)),
        "MultiLabelCrossEntropy": (losses.MultiLabelCrossEntropy(True), (scores, bits)),
        "Hinge": (losses.Hinge(), (scores, 2 * bits - 1)),
        "CategoricalCrossEntropy": (losses.CategoricalCrossEntropy(), (probs, onehot)),
        "SparseCategoricalCrossEntropy": (losses.SparseCategoricalCrossEntropy(True),
                                          (scores, labels)),
        "TripletLoss": (losses.TripletLoss(), (scores, probs, bits)),
        "ContrastiveLoss": (losses.ContrastiveLoss(), (scores, probs, np.array([1, 0, 0, 1]))),
    }


LOSS_NAMES = list(_loss_cases())
# The name of each loss's first argument in its messages.
FIRST_ARGUMENT = {"TripletLoss": "anchor", "ContrastiveLoss": "x1"}


def _loss(name):
    return _loss_cases()[name]


def test_every_public_loss_is_in_the_battery():
    public = {getattr(losses, name) for name in losses.__all__} - {losses.Loss}
    assert {type(loss) for loss, _ in _loss_cases().values()} == public


@pytest.mark.parametrize("dtype", list(NON_FLOAT.values()), ids=list(NON_FLOAT))
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_losses_refuse_non_float_predictions(name, dtype):
    loss, (pred, *rest) = _loss(name)
    first = FIRST_ARGUMENT.get(name, "y_pred")
    for method in (loss.forward, loss.backward):
        with pytest.raises(TypeError, match=f"^{name}: expected a floating-point {first}, got"):
            method(np.ones(pred.shape, dtype), *rest)


@pytest.mark.parametrize("dtype", [np.complex128, object, "U3"], ids=["complex", "object", "str"])
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_losses_refuse_non_numeric_targets(name, dtype):
    loss, (pred, target, *rest) = _loss(name)
    with pytest.raises(TypeError, match=f"^{name}: expected "):
        loss.forward(pred, np.ones(target.shape, dtype), *rest)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_losses_cast_half_precision_and_convert_lists(name):
    loss, args = _loss(name)
    pred = args[0].astype(np.float16)
    as32 = (pred.astype(np.float32),) + args[1:]
    assert loss.forward(pred, *args[1:]) == loss.forward(*as32)
    np.testing.assert_array_equal(np.asarray(loss.backward(pred, *args[1:])),
                                  np.asarray(loss.backward(*as32)))
    lists = [a.tolist() for a in args]
    assert loss.forward(*lists) == loss.forward(*args)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_losses_refuse_mismatched_batches_and_never_broadcast(name):
    loss, (pred, *rest) = _loss(name)
    for other in ([a[:3] for a in rest], [a[:1] for a in rest]):
        for method in (loss.forward, loss.backward):
            with pytest.raises(ValueError, match=f"^{name}: expected .* of shape"):
                method(pred, *other)
    if pred.shape == rest[0].shape:   # element-wise targets: a column or a row must not broadcast
        for target in (rest[0][:, :1], rest[0][:1]):
            with pytest.raises(ValueError, match=rf"^{name}: expected \w+ of shape"):
                loss.forward(pred, target, *rest[1:])


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_losses_refuse_empty_batches_scalars_and_ragged_lists(name):
    loss, args = _loss(name)
    with pytest.raises(ValueError, match=f"^{name}: expected a non-empty"):
        loss.forward(*[a[:0] for a in args])
    with pytest.raises(ValueError, match=f"^{name}: expected "):
        loss.forward(np.float64(0.5), *args[1:])
    with pytest.raises(ValueError, match=f"^{name}: expected .* a rectangular array"):
        loss.forward([[0.5, 0.5], [0.5]], *args[1:])


@pytest.mark.parametrize("value", [NAN, INF], ids=["nan", "inf"])
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_non_finite_predictions_give_a_non_finite_loss_without_crashing(name, value):
    loss, (pred, *rest) = _loss(name)
    pred = pred.copy()
    pred[0, 0] = value
    with np.errstate(all="ignore"):
        value_out = loss.forward(pred, *rest)
        grads = loss.backward(pred, *rest)
    if math.isnan(value):
        assert math.isnan(value_out)
    for grad in (grads if isinstance(grads, tuple) else (grads,)):
        assert grad.shape == pred.shape


BAD_LOSS_CALLS = [
    # sparse labels: out of range, negative, fractional, NaN, bools, a column
    (lambda p: losses.SparseCategoricalCrossEntropy().forward(p, [0, 1, 3, 2]), ValueError,
     r"^SparseCategoricalCrossEntropy: expected class labels in \[0, 3\), got 3"),
    (lambda p: losses.SparseCategoricalCrossEntropy().forward(p, [0, -1, 2, 2]), ValueError,
     r"expected class labels in \[0, 3\), got -1"),
    (lambda p: losses.SparseCategoricalCrossEntropy().forward(p, [0, 1.5, 2, 2]), ValueError,
     "expected integer class labels y_true, got 1.5"),
    (lambda p: losses.SparseCategoricalCrossEntropy().forward(p, [0, NAN, 2, 2]), ValueError,
     "expected integer class labels y_true, got nan"),
    (lambda p: losses.SparseCategoricalCrossEntropy().forward(p, np.ones(4, bool)), TypeError,
     "expected integer class labels y_true, got dtype"),
    (lambda p: losses.SparseCategoricalCrossEntropy().forward(p, np.zeros((4, 1), int)),
     ValueError, r"expected y_true of shape \(4,\), got \(4, 1\)"),
    # one-hot targets: rows that do not sum to 1, values outside [0, 1]
    (lambda p: losses.CategoricalCrossEntropy().forward(p, np.ones((4, 3))), ValueError,
     r"^CategoricalCrossEntropy: expected y_true rows summing to 1 \(one-hot\), got 3.0"),
    (lambda p: losses.CategoricalCrossEntropy().forward(p, np.zeros((4, 3))), ValueError,
     "expected y_true rows summing to 1"),
    (lambda p: losses.CategoricalCrossEntropy(True).forward(p, np.eye(3)[[0, 1, 2, 0]] * 2 - 0.5),
     ValueError, r"expected y_true values in \[0, 1\], got 1.5"),
    (lambda p: losses.BinaryCrossEntropy().forward(p, np.full((4, 3), 2.0)), ValueError,
     r"^BinaryCrossEntropy: expected y_true values in \[0, 1\], got 2.0"),
    (lambda p: losses.MultiLabelCrossEntropy().forward(p, np.full((4, 3), 0.5)), ValueError,
     r"^MultiLabelCrossEntropy: expected y_true values in \{0, 1\}, got 0.5"),
    (lambda p: losses.Hinge().forward(p, np.zeros((4, 3))), ValueError,
     r"^Hinge: expected y_true values in \{-1, \+1\}, got 0.0"),
    (lambda p: losses.ContrastiveLoss().forward(p, p, [0, 1, 2, 1]), ValueError,
     r"^ContrastiveLoss: expected similar values in \{0, 1\}, got 2.0"),
]
BAD_LOSS_CALLS += [(lambda p, cls=cls, flag=flag: cls(from_logits=flag), TypeError,
                    f"^{cls.__name__}: expected from_logits True or False, got {flag!r}")
                   for cls in (losses.CategoricalCrossEntropy, losses.SparseCategoricalCrossEntropy,
                               losses.BinaryCrossEntropy, losses.MultiLabelCrossEntropy)
                   for flag in ("False", 1, None)]
BAD_LOSS_CALLS += [
    (lambda p: losses.Huber(delta=NAN), ValueError, "^Huber: expected delta a finite number"),
    (lambda p: losses.Huber(delta=-1.0), ValueError, r"^Huber: expected delta > 0.0, got -1.0"),
    (lambda p: losses.Huber(delta="1"), TypeError, "^Huber: expected delta a finite number"),
    (lambda p: losses.BinaryCrossEntropy(epsilon=INF), ValueError,
     "^BinaryCrossEntropy: expected epsilon a finite number"),
    (lambda p: losses.BinaryCrossEntropy(epsilon=-1e-7), ValueError,
     r"^BinaryCrossEntropy: expected epsilon > 0.0"),
    (lambda p: losses.TripletLoss(margin=-INF), ValueError,
     "^TripletLoss: expected margin a finite number"),
    (lambda p: losses.ContrastiveLoss(margin=-1.0), ValueError,
     r"^ContrastiveLoss: expected margin > 0.0, got -1.0"),
    (lambda p: losses.ContrastiveLoss(margin=None), TypeError,
     "^ContrastiveLoss: expected margin a finite number, got None"),
]


@pytest.mark.parametrize("call, error, message", BAD_LOSS_CALLS)
def test_bad_targets_and_hyper_parameters_are_refused(call, error, message):
    probs = np.full((4, 3), 1 / 3)
    with pytest.raises(error, match=message):
        call(probs)


# ==== optimizers ==============================================================================
OPTIMIZERS = sorted({getattr(optimizers, name) for name in optimizers.__all__}
                    - {optimizers.Optimizer}, key=lambda cls: cls.__name__)
OPT_IDS = [cls.__name__ for cls in OPTIMIZERS]


def _params():
    return [[np.ones((2, 3)), np.ones(3)], [np.ones((3, 1), np.float32)]]


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=OPT_IDS)
def test_optimizers_refuse_bad_learning_rates(cls):
    for lr, error in ((NAN, ValueError), (INF, ValueError), (-0.1, ValueError), (0.0, ValueError),
                      ("0.1", TypeError), (None, TypeError)):
        with pytest.raises(error, match=f"^{cls.__name__}: expected learning_rate a finite "
                                        "number > 0 or a LearningRateSchedule"):
            cls(learning_rate=lr)


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=OPT_IDS)
def test_optimizers_refuse_bad_hyper_parameters(cls):
    for name in cls.hyper + ("clipnorm", "clipvalue"):
        for value, error in ((NAN, ValueError), (INF, ValueError), (-0.5, ValueError),
                             ("0.9", TypeError), ([0.9], TypeError)):
            with pytest.raises(error, match=f"^{cls.__name__}: expected {name} "):
                cls(**{name: value})


def _bad_steps():
    params = _params
    return [
        (lambda: (params(), params()[:1]), ValueError, r"expected grads with 2 groups"),
        (lambda: (params(), [params()[0][:1], params()[1]]), ValueError,
         r"expected grads group 0 with 2 arrays"),
        (lambda: (params(), [[np.ones((3, 2)), np.ones(3)], params()[1]]), ValueError,
         r"expected grads\[0\]\[0\] of shape \(2, 3\)"),
        (lambda: (params(), [[np.ones((1, 3)), np.ones(3)], params()[1]]), ValueError,
         r"expected grads\[0\]\[0\] of shape \(2, 3\), got 'shape \(1, 3\)'"),
        (lambda: (params(), [[np.ones((2, 3), complex), np.ones(3)], params()[1]]), TypeError,
         r"expected grads\[0\]\[0\] floating-point"),
        (lambda: (params(), [[[[1.0], [2.0, 3.0]], np.ones(3)], params()[1]]), ValueError,
         r"expected grads\[0\]\[0\] a rectangular array"),
        (lambda: ([[np.ones(3, np.float16)]], [[np.ones(3)]]), TypeError,
         r"expected params\[0\]\[0\] a float32 or float64 ndarray, got 'dtype float16'"),
        (lambda: ([[[1.0, 2.0]]], [[np.ones(2)]]), TypeError,
         r"expected params\[0\]\[0\] a float32 or float64 ndarray, got 'list'"),
        (lambda: (params()[0], params()[0]), TypeError, "expected params as a list of groups"),
    ]


@pytest.mark.parametrize("make, error, message", _bad_steps())
@pytest.mark.parametrize("cls", OPTIMIZERS, ids=OPT_IDS)
def test_mismatched_params_and_grads_leave_everything_untouched(cls, make, error, message,
                                                                backend):
    params, grads = make()
    before = [np.array(p, copy=True) for group in params for p in group]
    opt = cls()
    with pytest.raises(error, match=f"^{cls.__name__}: {message}"):
        opt.step(params, grads)
    assert opt.t == 0 and opt.state == {}
    for old, new in zip(before, [p for group in params for p in group]):
        np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=OPT_IDS)
def test_non_finite_gradients_propagate_without_crashing(cls, backend):
    params = _params()
    grads = [[np.full((2, 3), NAN), np.full(3, INF)], [np.zeros((3, 1), np.float32)]]
    with np.errstate(all="ignore"):
        cls().step(params, grads)
    assert np.isnan(params[0][0]).all()
    assert np.isfinite(params[1][0]).all()


# ==== metrics =================================================================================
METRICS = {"accuracy": (metrics.accuracy, np.eye(3)[[0, 1, 2, 1]], np.array([0, 1, 2, 2])),
           "binary_accuracy": (metrics.binary_accuracy, np.array([0.9, 0.1, 0.8, 0.3]),
                               np.array([1, 0, 0, 0]))}


def test_every_built_in_metric_is_in_the_battery():
    assert set(METRICS) == set(metrics.METRICS)


@pytest.mark.parametrize("name", list(METRICS))
def test_metrics_refuse_bad_shapes_and_kinds(name):
    metric, pred, y = METRICS[name]
    with pytest.raises(ValueError, match=f"^{name}: expected "):
        metric(pred, y[:3])
    with pytest.raises(ValueError, match=f"^{name}: expected "):
        metric(pred[:0], y[:0])
    for dtype in (np.complex128, object, "U3"):
        with pytest.raises(TypeError, match=f"^{name}: expected real-valued y_pred"):
            metric(pred.astype(dtype), y)
        with pytest.raises(TypeError, match=f"^{name}: expected numeric y_true"):
            metric(pred, y.astype(dtype))
    with pytest.raises(ValueError, match=f"^{name}: expected y_pred a rectangular array"):
        metric([[0.5, 0.5], [0.5]], y)


@pytest.mark.parametrize("name", list(METRICS))
def test_metrics_take_lists_float_labels_and_nan_scores(name):
    metric, pred, y = METRICS[name]
    expected = metric(pred, y)
    assert metric(pred.tolist(), y.tolist()) == expected
    assert metric(pred, y.astype(np.float64)) == expected
    nan_pred = pred.copy()
    nan_pred[0] = NAN
    assert 0.0 <= metric(nan_pred, y) <= 1.0


@pytest.mark.parametrize("labels, message", [
    ([0, 1, 3, 2], r"^accuracy: expected class labels in \[0, 3\), got 3"),
    ([0, -1, 2, 2], r"^accuracy: expected class labels in \[0, 3\), got -1"),
    ([0, 0.5, 2, 2], "^accuracy: expected integer labels y_true, got 0.5"),
    ([0, NAN, 2, 2], "^accuracy: expected integer labels y_true, got nan"),
    ([True, False, True, True], r"^accuracy: expected integer labels of shape \(4,\)"),
])
def test_accuracy_refuses_labels_that_are_no_class(labels, message):
    with pytest.raises(ValueError, match=message):
        metrics.accuracy(np.eye(3)[[0, 1, 2, 1]], np.array(labels))


def test_metric_arguments_are_checked():
    with pytest.raises(ValueError, match="^binary_accuracy: expected threshold a finite number"):
        metrics.binary_accuracy(np.zeros(2), np.zeros(2), threshold=NAN)
    with pytest.raises(TypeError, match="^binary_accuracy: expected threshold a finite number"):
        metrics.binary_accuracy(np.zeros(2), np.zeros(2), threshold="0.5")
    with pytest.raises(TypeError, match="^metrics: expected a metric name"):
        metrics.get(5)
    with pytest.raises(ValueError, match="^metrics: expected a metric name"):
        metrics.get("f1")


# ==== Sequential ==============================================================================
def _model():
    model = Sequential([layers.Dense(4, 3, seed=0), layers.ReLU(), layers.Dense(3, 3, seed=1)])
    return model.compile(losses.SparseCategoricalCrossEntropy(from_logits=True),
                         optimizers.SGD(0.1))


def _data(n=8):
    rng = np.random.default_rng(2)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 3, size=n)


# method name -> call(model, x, y)
METHODS = {
    "fit": lambda m, x, y: m.fit(x, y, epochs=1, batch_size=4, seed=0, verbose=0),
    "evaluate": lambda m, x, y: m.evaluate(x, y),
    "train_step": lambda m, x, y: m.train_step(x, y),
    "predict": lambda m, x, y: m.predict(x),
}
XY_METHODS = ["fit", "evaluate", "train_step"]


@pytest.mark.parametrize("method", list(METHODS))
def test_sequential_refuses_non_float_inputs(method, backend):
    x, y = _data()
    for dtype in (np.int64, bool, np.complex64, object):
        with pytest.raises(TypeError, match=rf"^Sequential.{method}: expected a floating-point "
                                            "x, got dtype"):
            METHODS[method](_model(), x.astype(dtype), y)


@pytest.mark.parametrize("method", list(METHODS))
def test_sequential_converts_lists_and_casts_half_precision(method, backend):
    x, y = _data()
    x = np.round(x * 4) / 4   # exact in float16
    reference = METHODS[method](_model(), x, y)
    for data in (x.tolist(), x.astype(np.float16)):
        got = METHODS[method](_model(), data, y.tolist())
        if method == "fit":
            assert got.history == reference.history
        elif method == "predict":
            np.testing.assert_array_equal(got, reference)
        else:
            assert got == reference


@pytest.mark.parametrize("method", XY_METHODS)
def test_sequential_refuses_mismatched_empty_and_non_numeric_data(method, backend):
    x, y = _data()
    call = METHODS[method]
    with pytest.raises(ValueError, match=rf"^Sequential.{method}: expected x and y with the "
                                         r"same number of samples, got '8 and 7'"):
        call(_model(), x, y[:7])
    with pytest.raises(ValueError, match=rf"^Sequential.{method}: expected x and y with at "
                                         "least one sample"):
        call(_model(), x[:0], y[:0])
    with pytest.raises(TypeError, match=rf"^Sequential.{method}: expected numeric y"):
        call(_model(), x, y.astype(str))
    with pytest.raises(ValueError, match=r"^Dense: expected input of shape \(N, 4\), got "
                                         r"\(\d, 5\)"):
        call(_model(), np.ones((8, 5), np.float32), y)
    with pytest.raises(ValueError, match=r"^SparseCategoricalCrossEntropy: expected class "
                                         r"labels in \[0, 3\), got 3"):
        call(_model(), x, np.full(8, 3))


def test_predict_refuses_empty_and_scalar_inputs(backend):
    for x in (np.zeros((0, 4), np.float32), np.float32(1.0)):
        with pytest.raises(ValueError, match="^Sequential.predict: expected a non-empty batch"):
            _model().predict(x)


def test_fit_with_nan_data_and_terminate_on_nan_stops_cleanly(backend, capsys):
    x, y = _data(12)
    x[5] = NAN
    guard = TerminateOnNaN()
    model = _model()
    with np.errstate(all="ignore"):
        history = model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0,
                            callbacks=[guard])
    # Batch 1 holds sample 5: its loss is NaN, training stops after it, the epoch is recorded.
    assert guard.message == "TerminateOnNaN: loss nan at epoch 0, batch 1; training stopped"
    assert len(history.history["loss"]) == 1 and math.isnan(history.history["loss"][0])
    assert "TerminateOnNaN" in capsys.readouterr().err


@pytest.mark.parametrize("value", [NAN, INF], ids=["nan", "inf"])
def test_fit_and_predict_with_non_finite_data_do_not_crash(value, backend):
    x, y = _data()
    x[0, 0] = value
    model = _model()
    with np.errstate(all="ignore"):
        history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
        out = model.predict(x)
    assert len(history.history["loss"]) == 2 and out.shape == (8, 3)


# ==== merge layers: the layer battery, inputs in a list ===========================================
def _merge(name, dtype=np.float32):
    make, shapes = MERGE_LAYERS[name]
    return make(dtype), [_values(shape, seed=k) for k, shape in enumerate(shapes)]


@pytest.mark.parametrize("name", list(MERGE_LAYERS))
def test_merge_layers_cast_other_widths_and_convert_lists(name, backend):
    layer, xs = _merge(name)
    expected = _merge(name)[0]([x.astype(np.float32) for x in xs])
    mixed = [xs[0].tolist()] + [x.astype(np.float16) for x in xs[1:]]
    for data in ([x.astype(np.float16) for x in xs], [x.astype(np.longdouble) for x in xs],
                 [x.tolist() for x in xs], mixed):
        got = layer(data)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, expected)
    grads, none = layer.backward(np.ones(expected.shape).tolist())
    assert none is None and [g.shape for g in grads] == [x.shape for x in xs]


@pytest.mark.parametrize("dtype", list(NON_FLOAT.values()), ids=list(NON_FLOAT))
@pytest.mark.parametrize("name", list(MERGE_LAYERS))
def test_merge_layers_refuse_non_float_inputs_at_any_position(name, dtype, backend):
    layer, xs = _merge(name)
    last = len(xs) - 1
    with pytest.raises(TypeError, match=rf"^{name}: expected a floating-point input {last}, "
                                        "got dtype"):
        layer(xs[:-1] + [np.ones(xs[-1].shape, dtype)])


@pytest.mark.parametrize("name", list(MERGE_LAYERS))
def test_merge_layers_refuse_empty_batches_scalars_and_ragged_lists(name, backend):
    layer, xs = _merge(name)
    with pytest.raises(ValueError, match=rf"^{name}: expected input 1 a non-empty batch .*, "
                                         r"got \(0,"):
        layer([xs[0], xs[1][:0]] + xs[2:])
    with pytest.raises(ValueError, match=rf"^{name}: expected input 0 a non-empty batch .*, "
                                         r"got \(\)"):
        layer([np.float32(1.0)] + xs[1:])
    with pytest.raises(ValueError, match=rf"^{name}: expected input 0 a rectangular array"):
        layer([[[1.0, 2.0], [3.0]]] + xs[1:])


@pytest.mark.parametrize("name", list(MERGE_LAYERS))
def test_merge_layers_refuse_bad_gradients(name, backend):
    layer, xs = _merge(name)
    with pytest.raises(RuntimeError, match=f"^{name}: backward called before forward"):
        layer.backward(np.ones((2, 4), np.float32))
    y = layer(xs)
    _assert_bad_grad_outputs_refused(layer, name, y.shape)


@pytest.mark.parametrize("value", [NAN, INF, -INF], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("name", list(MERGE_LAYERS))
def test_merge_layers_propagate_non_finite_data_without_crashing(name, value, backend):
    layer, xs = _merge(name)
    xs[-1] = xs[-1].copy()
    xs[-1][0] = value
    with np.errstate(all="ignore"):
        y = layer(xs)
        grads, _ = layer.backward(np.ones_like(y))
    assert np.isfinite(y[1]).all() and all(np.isfinite(g[1]).all() for g in grads)
    if math.isnan(value):
        assert np.isnan(y[0]).any()


@pytest.mark.parametrize("name", list(MERGE_LAYERS))
def test_merge_layers_refuse_huge_inputs_before_allocating(name, backend, memory_64gib):
    layer, xs = _merge(name)
    huge = np.broadcast_to(np.float64(0.5), (10**12,) + xs[0].shape[1:])
    with no_allocation(), pytest.raises(
            ValueError, match=rf"^{name}: expected input 0 of at most 64 GiB \(the machine's "
                              r"memory\), got 'shape \(1000000000000,"):
        layer([huge] * len(xs))


def test_concatenate_refuses_an_output_too_large_before_allocating(backend, memory_64gib):
    # 40 GB views: each fits, their concatenation (80 GB) does not
    large = np.broadcast_to(np.float32(1), (10**4, 10**6))
    with no_allocation(), pytest.raises(
            ValueError, match=r"^Concatenate: expected an output of at most 64 GiB .*, got "
                              r"'shape \(10000, 2000000\) of float32"):
        layers.Concatenate()([large, large])


@pytest.mark.parametrize("name", list(MERGE_LAYERS))
def test_merge_layer_dtypes_other_than_float32_and_float64_are_refused(name):
    make, _ = MERGE_LAYERS[name]
    for dtype in (np.float16, np.int32, "complex64"):
        with pytest.raises(TypeError, match=f"^{name}: expected dtype float32 or float64"):
            make(dtype)


# ==== models as graphs: Input, Model =============================================================
def _unreachable_output():
    x1, x2 = retrograd.Input((4,)), retrograd.Input((4,))
    return retrograd.Model(x1, layers.Dense(4, 2)(x2))


def _unused_input():
    x1, x2 = retrograd.Input((4,)), retrograd.Input((4,))
    return retrograd.Model([x1, x2], layers.Dense(4, 2)(x1))


def _same_layer_names():
    x = retrograd.Input((4,))
    return retrograd.Model(x, layers.Dense(4, 2, name="x")(layers.Dense(4, 4, name="x")(x)))


def _layer_named_as_an_input():
    x = retrograd.Input((4,), name="features")
    return retrograd.Model(x, layers.Dense(4, 2, name="features")(x))


def _single_model(width=4):
    x = retrograd.Input((width,))
    return retrograd.Model(x, layers.Dense(width, 3, seed=0)(x))


def _two_input_model():
    x1, x2 = retrograd.Input((4,), name="left"), retrograd.Input((4,), name="right")
    y = layers.Add()([layers.Dense(4, 3, seed=0)(x1), layers.Dense(4, 3, seed=1)(x2)])
    return retrograd.Model([x1, x2], y)


def _layer_output(width=4):
    return layers.Dense(width, width)(retrograd.Input((width,)))


# name -> (call, error, message)
GRAPH_ERRORS = {
    "unreachable_output": (
        _unreachable_output, ValueError, r"^Model: expected output '\w+' to depend only on the "
        r"model's inputs \('\w+'\), got \"a path from Input '\w+', not among them\""),
    "unused_input": (
        _unused_input, ValueError,
        r"^Model: expected every input to reach an output, got \"input '\w+' unused\""),
    "same_layer_names": (
        _same_layer_names, ValueError,
        r"^Model: expected unique layer and input names, got \"'x' 2 times\""),
    "layer_named_as_an_input": (
        _layer_named_as_an_input, ValueError,
        "^Model: expected unique layer and input names, got \"'features' 2 times"),
    "dense_wrong_features": (
        lambda: layers.Dense(5, 3)(retrograd.Input((4,))), ValueError,
        r"^Dense: expected an input shape \(\.\.\., 5\), got \(4,\)"),
    "conv_wrong_channels": (
        lambda: layers.Conv2D(3, 8, 3)(retrograd.Input((8, 8, 1))), ValueError,
        r"^Conv2D: expected an input shape \(H, W, 3\), got \(8, 8, 1\)"),
    "merge_unequal_shapes": (
        lambda: layers.Add()([retrograd.Input((8, 8, 16)), retrograd.Input((8, 8, 32))]),
        ValueError,
        r"^Add: expected inputs of equal shapes, got \(None, 8, 8, 16\) and \(None, 8, 8, 32\)"),
    "merge_mixing_arrays_and_tensors": (
        lambda: layers.Multiply()([retrograd.Input((3,)), np.ones((2, 3))]), TypeError,
        r"^Multiply: expected every input symbolic .* got 'ndarray at position 1'"),
    "model_called_on_a_wrong_shape": (
        lambda: _single_model()(retrograd.Input((5,))), ValueError,
        r"^Model 'model\w*': expected input 'input\w*' of shape \(None, 4\), got '\(None, 5\)'"),
    "model_called_on_too_few_inputs": (
        lambda: _two_input_model()(retrograd.Input((4,))), ValueError,
        r"^Model 'model\w*': expected 2 inputs, got 1"),
    "model_called_on_separate_arguments": (
        lambda: _two_input_model()(retrograd.Input((4,)), retrograd.Input((4,))), TypeError,
        r"^Model"),
    "model_inputs_not_from_input": (
        lambda: retrograd.Model(_layer_output(), _layer_output()), ValueError,
        r"^Model: expected inputs created by retrograd.Input, got <SymbolicTensor 'dense\w*'"),
    "model_inputs_as_arrays": (
        lambda: retrograd.Model(np.ones((2, 4)), _layer_output()), TypeError,
        r"^Model: expected inputs as symbolic tensors \(retrograd.Input and layer outputs\), "
        "got 'ndarray'"),
    "model_output_a_layer": (
        lambda: retrograd.Model(retrograd.Input((4,)), layers.Dense(4, 2)), TypeError,
        r"^Model: expected outputs as symbolic tensors .*, got 'Dense'"),
    "model_without_inputs": (
        lambda: retrograd.Model([], _layer_output()), ValueError,
        "^Model: expected at least one tensor in inputs"),
    "model_input_twice": (
        lambda: (lambda x: retrograd.Model([x, x], layers.Dense(4, 2)(x)))(retrograd.Input(4)),
        ValueError, "^Model: expected each input once"),
    "input_size_zero": (lambda: retrograd.Input((0, 3)), ValueError,
                        "^Input: expected shape a tuple of sizes >= 1"),
    "input_shape_string": (lambda: retrograd.Input("4"), TypeError,
                           "^Input: expected shape a tuple of sizes >= 1"),
    "input_integer_dtype": (lambda: retrograd.Input((4,), dtype=np.int32), TypeError,
                            "^Input: expected dtype float32 or float64"),
    "input_name_not_a_string": (lambda: retrograd.Input((4,), name=3), TypeError,
                                "^Input: expected name a non-empty"),
    "input_as_an_array": (lambda: np.asarray(retrograd.Input((4,))), TypeError,
                          "is symbolic: it has no values"),
}


@pytest.mark.parametrize("name", list(GRAPH_ERRORS))
def test_bad_graphs_are_refused_when_built(name):
    call, error, message = GRAPH_ERRORS[name]
    with pytest.raises(error, match=message):
        call()


def test_refused_graph_calls_leave_the_layers_usable():
    """Nothing half-built: a refused layer call records nothing, a refused Model leaves
    its layers free for the next one."""
    dense = layers.Dense(5, 3, seed=0)
    with pytest.raises(ValueError, match="^Dense: "):
        dense(retrograd.Input((4,)))
    x = retrograd.Input((5,))
    model = retrograd.Model(x, dense(x))
    assert model.layers == [dense] and model.predict(np.ones((2, 5))).shape == (2, 3)
    first, second = layers.Dense(4, 4, name="x"), layers.Dense(4, 2, name="x")
    x = retrograd.Input((4,))
    y = second(first(x))
    with pytest.raises(ValueError, match="^Model: expected unique layer and input names"):
        retrograd.Model(x, y)
    second.name = "y"
    assert retrograd.Model(x, y).layers == [first, second]


# method -> call(model, x, y) of a two-input, one-output model
MODEL_METHODS = {
    "": lambda m, x, y: m.forward(x),
    ".predict": lambda m, x, y: m.predict(x),
    ".evaluate": lambda m, x, y: m.evaluate(x, y),
    ".fit": lambda m, x, y: m.fit(x, y, epochs=1, batch_size=2, verbose=0),
    ".train_step": lambda m, x, y: m.train_step(x, y),
}


@pytest.mark.parametrize("method", list(MODEL_METHODS), ids=lambda m: m or "forward")
def test_a_multi_input_model_refuses_x_of_the_wrong_length_and_changes_nothing(method, backend):
    model = _two_input_model().compile(losses.MSE(), optimizers.SGD(0.1), metrics=())
    x = [np.ones((4, 4), np.float32), np.full((4, 4), 0.5, np.float32)]
    y = np.zeros((4, 3), np.float32)
    upstream = np.ones((4, 3), np.float32)
    out = model.forward(x)
    dx = model.backward(upstream)
    weights = model.get_weights()
    call = MODEL_METHODS[method]
    for bad in (x[:1], x + x[:1]):
        with pytest.raises(ValueError, match=rf"^Model{re.escape(method)}: expected (x as )?a "
                                             rf"list of 2 arrays \(one per input"):
            call(model, bad, y)
    with pytest.raises(TypeError, match=rf"^Model{re.escape(method)}: expected (x as )?a list "
                                        r"of 2 arrays \(one per input.*, got 'ndarray'"):
        call(model, x[0], y)
    with pytest.raises(ValueError, match=r"^Model: expected input 'right' of shape \(N, 4\), "
                                         r"got \(4, 5\)"):
        model.forward([x[0], np.ones((4, 5))])
    with pytest.raises(TypeError, match=r"^Model: expected arrays \(call the model on a "
                                        "symbolic tensor"):
        model.forward([x[0], retrograd.Input((4,))])
    # samples counts that differ reach the merge layer, which names both shapes
    with pytest.raises(ValueError, match=r"^Add: expected inputs of equal shapes, got \(4, 3\) "
                                         r"and \(3, 3\)"):
        model.forward([x[0], x[1][:3]])
    _assert_arrays_equal(model.get_weights(), weights)
    assert model.optimizer.t == 0
    np.testing.assert_array_equal(model.backward(upstream), dx)   # the last good forward's
    np.testing.assert_array_equal(model.forward(x), out)


def test_a_multi_output_model_refuses_y_of_the_wrong_length(backend):
    x = retrograd.Input((4,))
    model = retrograd.Model(x, [layers.Dense(4, 2)(x), layers.Dense(4, 1)(x)])
    model.compile([losses.MSE(), losses.MSE()], optimizers.SGD(0.1), metrics=())
    xv = np.ones((4, 4), np.float32)
    for bad in ([np.zeros((4, 2))], [np.zeros((4, 2))] * 3):
        with pytest.raises(ValueError, match=r"^Model.fit: expected y as a list of 2 arrays "
                                             r"\(one per output\), got 'a list of"):
            model.fit(xv, bad, verbose=0)
    with pytest.raises(ValueError, match=r"^Model.compile: expected one loss or a list of 2 "
                                         r"\(one per output\), got '3 losses'"):
        model.compile([losses.MSE()] * 3, optimizers.SGD(0.1))
    with pytest.raises(ValueError, match=r"^Model.compile: expected loss_weights a list of 2 "):
        model.compile(losses.MSE(), optimizers.SGD(0.1), loss_weights=[1.0])
    with pytest.raises(ValueError, match=r"^Model.compile: expected a model with 3 outputs for "
                                         r"TripletLoss, got '2 outputs'"):
        model.compile(losses.TripletLoss(), optimizers.SGD(0.1))


def _assert_arrays_equal(got, expected):
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


# ==== data helpers ============================================================================
@pytest.mark.parametrize("call, error, message", [
    (lambda: one_hot(np.array([0.0, 1.0]), 2), TypeError, "^one_hot: expected integer labels"),
    (lambda: one_hot(np.array([True, False]), 2), TypeError, "^one_hot: expected integer labels"),
    (lambda: one_hot(np.array([0, 3]), 3), ValueError, r"^one_hot: expected labels in \[0, 3\)"),
    (lambda: one_hot(np.array([0, -1]), 3), ValueError, r"^one_hot: expected labels in \[0, 3\)"),
    (lambda: one_hot(np.array([0, 1]), 0), ValueError, "^one_hot: expected num_classes a posit"),
    (lambda: one_hot(np.array([0, 1]), NAN), ValueError, "^one_hot: expected num_classes a pos"),
    (lambda: one_hot(np.array([0, 1]), "3"), TypeError, "^one_hot: expected num_classes a posi"),
    (lambda: one_hot(np.array([0, 1]), 3, dtype=complex), TypeError,
     "^one_hot: expected a numeric dtype"),
    (lambda: one_hot([[0, 1], [2]], 3), ValueError, "^one_hot: expected labels a rectangular"),
])
def test_one_hot_refuses_bad_labels(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_one_hot_refuses_absurd_sizes_before_allocating():
    with no_allocation(), pytest.raises(ValueError, match=r"^one_hot: expected a one-hot array "
                                                          r"of at most .*, got 'shape \(2, "
                                                          r"1000000000000000\) of float32"):
        one_hot(np.array([0, 1]), 10**15)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"y": np.arange(9)}, ValueError, "expected x and y with the same number of samples"),
    ({"test_size": NAN}, ValueError, "expected test_size a fraction in"),
    ({"test_size": INF}, ValueError, "expected test_size a fraction in"),
    ({"test_size": 1.5}, ValueError, "expected test_size a fraction in"),
    ({"test_size": 0}, ValueError, "expected between 1 and 9 test samples"),
    ({"test_size": True}, ValueError, "expected test_size a fraction in"),
    ({"test_size": "0.2"}, TypeError, "expected test_size a fraction in"),
    ({"seed": -1}, ValueError, "expected seed None or an integer >= 0"),
    ({"seed": "0"}, TypeError, "expected seed None or an integer >= 0"),
    ({"stratify": np.arange(9)}, ValueError, r"expected stratify labels of shape \(10,\)"),
    ({"stratify": np.array([None] * 10)}, TypeError, "expected stratify labels of numbers"),
    ({"x": np.zeros((1, 2)), "y": np.zeros(1)}, ValueError, "expected at least 2 samples"),
])
def test_train_test_split_refuses_bad_arguments(kwargs, error, message):
    args = {"x": np.zeros((10, 2)), "y": np.arange(10), **kwargs}
    with pytest.raises(error, match="^train_test_split: " + message):
        train_test_split(**args)
