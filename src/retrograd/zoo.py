"""Every named network, defined once: the command line, ``retrograd.bench``, the
benchmarks and the examples build their networks here.

Each builder returns a fresh, uncompiled ``Sequential`` (``resnet``: a ``retrograd.Model``
graph) on NHWC images and takes the image shape ``(height, width, channels)`` where the
architecture depends on it, a
``seed`` (each seeded layer gets ``seed + k``, k as the builder's docstring lists;
None draws fresh weights) and a ``dtype`` (float32 or float64) given to every layer.
Same seed, same weights, on either backend.  The last layer gives logits: compile
with ``SparseCategoricalCrossEntropy(from_logits=True)``.

    >>> model = lenet((28, 28, 1), seed=0)
    >>> model.compile(SparseCategoricalCrossEntropy(from_logits=True), SGD(0.01))

``torch_lenet``, ``torch_vgg_cifar`` and ``torch_resnet`` build the same networks in
PyTorch (imported only when they are called) for the speed comparisons and the tests:
NCHW modules in channels-last memory, so they take the NHWC batch as
``torch.from_numpy(x).permute(0, 3, 1, 2)`` (``copy_resnet_to_torch`` copies a
``resnet``'s weights into its twin).  Their ``nn.Flatten`` sees the feature map in (C, H, W) order where ours is (H, W, C):
rows of the first Dense weight are permuted accordingly when copying weights across.
"""
import numbers

import numpy as np

from . import layers as _layers
from ._validation import as_dtype, check_positive_int, check_seed, fail

__all__ = ["MIN_IMAGE_SIDE", "BACKPROP_221_WEIGHTS", "BACKPROP_221_HIDDEN", "backprop_221",
           "mlp", "cnn", "lenet", "vgg_cifar", "embedding_cnn", "resnet", "RESNET_DEPTHS",
           "torch_lenet", "torch_vgg_cifar", "torch_resnet", "copy_resnet_to_torch"]

# The smallest height and width each convolutional network takes: below it a pooling
# stage would leave no pixel.
MIN_IMAGE_SIDE = {"cnn": 4, "lenet": 16, "vgg_cifar": 4, "embedding_cnn": 4}


def _image_shape(image_shape, owner):
    """(height, width, channels) as positive ints, at least MIN_IMAGE_SIDE[owner] high
    and wide."""
    if not isinstance(image_shape, (tuple, list)):
        fail(owner, "image_shape a tuple (height, width, channels)", image_shape, TypeError)
    if len(image_shape) != 3:
        fail(owner, "image_shape a tuple (height, width, channels)", image_shape)
    height, width, channels = (check_positive_int(v, owner, "image_shape sizes")
                               for v in image_shape)
    side = MIN_IMAGE_SIDE.get(owner, 1)
    if min(height, width) < side:
        raise ValueError(f"{owner}: expected images of at least {side}x{side}, got "
                         f"{height}x{width}")
    return height, width, channels


def _seeds(seed, count, owner):
    """The seeds of a network's ``count`` seeded layers: seed, seed + 1, ... (all None
    for seed None)."""
    seed = check_seed(seed, owner)
    return [None] * count if seed is None else [seed + k for k in range(count)]


# The backpropagation lecture's worked example: the weights of its 2-2-1 network, in the
# layers' layout (W1[i, j]: input i to hidden unit j; W2[j, 0]: hidden unit j to the output).
BACKPROP_221_WEIGHTS = {"W1": ((0.15, 0.20), (0.25, 0.30)), "b1": (0.35, 0.35),
                        "W2": ((0.40,), (0.45,)), "b2": (0.60,)}
# The hidden activations the lecture's exercise 5 compares.
BACKPROP_221_HIDDEN = ("sigmoid", "tanh", "relu")


def backprop_221(hidden="sigmoid", dtype=np.float64):
    """The backpropagation lecture's 2-2-1 network (examples/backprop_221.py):

        Dense(2 -> 2) - hidden - Dense(2 -> 1) - Sigmoid

    with the worked example's weights (``BACKPROP_221_WEIGHTS``) and ``hidden`` one of
    ``BACKPROP_221_HIDDEN`` (the lecture's is "sigmoid").  float64 by default, so that
    finite differences can check its gradients.  9 parameters.
    """
    owner = "backprop_221"
    dtype = as_dtype(dtype, owner)
    classes = {"sigmoid": _layers.Sigmoid, "tanh": _layers.Tanh, "relu": _layers.ReLU}
    if hidden not in classes:
        fail(owner, f"hidden one of {', '.join(BACKPROP_221_HIDDEN)}", hidden)
    model = _sequential([_layers.Dense(2, 2, dtype=dtype), classes[hidden](dtype=dtype),
                         _layers.Dense(2, 1, dtype=dtype), _layers.Sigmoid(dtype=dtype)])
    values = [BACKPROP_221_WEIGHTS[k] for k in ("W1", "b1", "W2", "b2")]
    for param, value in zip([p for group in model.params for p in group], values):
        param[...] = value
    return model


def mlp(image_shape=(8, 8, 1), seed=0, dtype=np.float32):
    """Multilayer perceptron for flattened images (the CLI's ``mlp``):

        Dense(H*W*C -> 128) - ReLU - Dense(128 -> 10)       seeds: seed, seed + 1

    It takes (N, H*W*C) rows, not images.  The fully connected network trained by
    backpropagation (Rumelhart, Hinton and Williams, "Learning representations by
    back-propagating errors", Nature 1986; the backpropagation lecture's 2-2-1 network,
    grown to the digits).  On the 8x8 digits: 9,610 parameters.
    """
    owner = "mlp"
    dtype = as_dtype(dtype, owner)
    inputs = int(np.prod(_image_shape(image_shape, owner)))
    s = _seeds(seed, 2, owner)
    L = _layers
    return _sequential([L.Dense(inputs, 128, seed=s[0], dtype=dtype), L.ReLU(dtype=dtype),
                        L.Dense(128, 10, seed=s[1], dtype=dtype)])


def cnn(image_shape=(8, 8, 1), seed=0, dtype=np.float32):
    """Small convolutional network for the 8x8 digits (the CLI's default ``cnn``):

        Conv2D 3x3 C -> 32, padding 1 - ReLU - MaxPooling2D 2         seed
        Conv2D 3x3 32 -> 64, padding 1 - ReLU - MaxPooling2D 2        seed + 1
        Flatten - Dropout 0.25                                        seed + 4
        Dense(64 * (H//4) * (W//4) -> 128) - ReLU                     seed + 2
        Dropout 0.25                                                  seed + 5
        Dense(128 -> 10)                                              seed + 3

    (the Dropout seeds follow the weights' seeds).  8x8 -> 4x4 -> 2x2 on the digits.
    The two-convolution design of Keras's "Simple MNIST convnet" example, with dropout
    (Srivastava et al., "Dropout: a simple way to prevent neural networks from
    overfitting", JMLR 2014) before each Dense layer; images at least 4x4.  On the 8x8
    digits: 53,002 parameters.
    """
    owner = "cnn"
    dtype = as_dtype(dtype, owner)
    height, width, channels = _image_shape(image_shape, owner)
    s = _seeds(seed, 6, owner)
    L = _layers
    features = 64 * (height // 4) * (width // 4)
    return _sequential([
        L.Conv2D(channels, 32, 3, padding=1, seed=s[0], dtype=dtype), L.ReLU(dtype=dtype),
        L.MaxPooling2D(2, dtype=dtype),
        L.Conv2D(32, 64, 3, padding=1, seed=s[1], dtype=dtype), L.ReLU(dtype=dtype),
        L.MaxPooling2D(2, dtype=dtype),
        L.Flatten(dtype=dtype), L.Dropout(0.25, seed=s[4], dtype=dtype),
        L.Dense(features, 128, seed=s[2], dtype=dtype), L.ReLU(dtype=dtype),
        L.Dropout(0.25, seed=s[5], dtype=dtype),
        L.Dense(128, 10, seed=s[3], dtype=dtype)])


def lenet(image_shape=(28, 28, 1), seed=0, dtype=np.float32):
    """LeNet-5 (the CLI's ``lenet``, ``retrograd.bench`` and benchmarks/bench_lenet.py):

        Conv2D 5x5 C -> 6, no padding - ReLU - MaxPooling2D 2         seed
        Conv2D 5x5 6 -> 16, no padding - ReLU - MaxPooling2D 2        seed + 1
        Flatten - Dense(16 * h * w -> 120) - ReLU                     seed + 2
        Dense(120 -> 84) - ReLU                                       seed + 3
        Dense(84 -> 10)                                               seed + 4

    with h = ((H - 4) // 2 - 4) // 2 (w likewise): 28 -> 24 -> 12 -> 8 -> 4 on MNIST.
    LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document
    recognition", Proc. IEEE 1998, section II.B, in its modern form: ReLU instead of
    the scaled tanh, max pooling instead of trainable subsampling, every C3 map
    connected to every S2 map, 10 logits instead of the RBF output layer, and MNIST's
    28x28 images unpadded (the paper pads to 32x32, which gives 5x5 maps before C5).
    Images at least 16x16.  On 28x28x1: 44,426 parameters.
    """
    owner = "lenet"
    dtype = as_dtype(dtype, owner)
    height, width, channels = _image_shape(image_shape, owner)
    s = _seeds(seed, 5, owner)
    L = _layers
    side_h, side_w = ((height - 4) // 2 - 4) // 2, ((width - 4) // 2 - 4) // 2
    return _sequential([
        L.Conv2D(channels, 6, 5, seed=s[0], dtype=dtype), L.ReLU(dtype=dtype),
        L.MaxPooling2D(2, dtype=dtype),
        L.Conv2D(6, 16, 5, seed=s[1], dtype=dtype), L.ReLU(dtype=dtype),
        L.MaxPooling2D(2, dtype=dtype), L.Flatten(dtype=dtype),
        L.Dense(16 * side_h * side_w, 120, seed=s[2], dtype=dtype), L.ReLU(dtype=dtype),
        L.Dense(120, 84, seed=s[3], dtype=dtype), L.ReLU(dtype=dtype),
        L.Dense(84, 10, seed=s[4], dtype=dtype)])


def vgg_cifar(image_shape=(32, 32, 3), seed=0, dtype=np.float32):
    """A VGG-style network for CIFAR-10's 32x32x3 images:

        Conv2D 3x3 C -> 32, same - ReLU                               seed
        Conv2D 3x3 32 -> 32, same - ReLU - MaxPooling2D 2             seed + 1
        Conv2D 3x3 32 -> 64, same - ReLU                              seed + 2
        Conv2D 3x3 64 -> 64, same - ReLU - MaxPooling2D 2             seed + 3
        Flatten - Dense(64 * (H//4) * (W//4) -> 256) - ReLU           seed + 4
        Dense(256 -> 10)                                              seed + 5

    32 -> 16 -> 8: Dense 4096 -> 256 on CIFAR.  Simonyan and Zisserman, "Very deep
    convolutional networks for large-scale image recognition", ICLR 2015: stacks of
    3x3 "same" convolutions, the width doubled after each 2x2 max pooling; here two
    blocks of two, sized for CIFAR-10 (Krizhevsky, "Learning multiple layers of
    features from tiny images", 2009).  Images at least 4x4.  On 32x32x3: 1,116,970
    parameters.
    """
    owner = "vgg_cifar"
    dtype = as_dtype(dtype, owner)
    height, width, channels = _image_shape(image_shape, owner)
    s = _seeds(seed, 6, owner)
    L = _layers
    features = 64 * (height // 4) * (width // 4)
    return _sequential([
        L.Conv2D(channels, 32, 3, padding="same", seed=s[0], dtype=dtype), L.ReLU(dtype=dtype),
        L.Conv2D(32, 32, 3, padding="same", seed=s[1], dtype=dtype), L.ReLU(dtype=dtype),
        L.MaxPooling2D(2, dtype=dtype),
        L.Conv2D(32, 64, 3, padding="same", seed=s[2], dtype=dtype), L.ReLU(dtype=dtype),
        L.Conv2D(64, 64, 3, padding="same", seed=s[3], dtype=dtype), L.ReLU(dtype=dtype),
        L.MaxPooling2D(2, dtype=dtype), L.Flatten(dtype=dtype),
        L.Dense(features, 256, seed=s[4], dtype=dtype), L.ReLU(dtype=dtype),
        L.Dense(256, 10, seed=s[5], dtype=dtype)])


def embedding_cnn(image_shape=(8, 8, 1), embedding_size=16, seed=0, dtype=np.float32):
    """A small convolutional encoder from images to embeddings, the shared branch of the
    siamese and triplet networks of examples/siamese_digits.py:

        Conv2D 3x3 C -> 16, padding 1 - ReLU - MaxPooling2D 2         seed
        Conv2D 3x3 16 -> 32, padding 1 - ReLU - MaxPooling2D 2        seed + 1
        Flatten - Dense(32 * (H//4) * (W//4) -> embedding_size)       seed + 2

    8x8 -> 4x4 -> 2x2 on the digits.  The last layer is linear: its output is the
    embedding, compared by Euclidean distance (ContrastiveLoss, TripletLoss), not logits.
    One encoder called on several ``retrograd.Input`` tensors gives the branches of a
    siamese network (Bromley et al., "Signature verification using a siamese time delay
    neural network", NIPS 1993; Hadsell, Chopra and LeCun, "Dimensionality reduction by
    learning an invariant mapping", CVPR 2006) that share one set of weights.  Images at
    least 4x4.  On the 8x8 digits with 16 dimensions: 6,864 parameters.
    """
    owner = "embedding_cnn"
    dtype = as_dtype(dtype, owner)
    height, width, channels = _image_shape(image_shape, owner)
    embedding_size = check_positive_int(embedding_size, owner, "embedding_size")
    s = _seeds(seed, 3, owner)
    L = _layers
    features = 32 * (height // 4) * (width // 4)
    return _sequential([
        L.Conv2D(channels, 16, 3, padding=1, seed=s[0], dtype=dtype), L.ReLU(dtype=dtype),
        L.MaxPooling2D(2, dtype=dtype),
        L.Conv2D(16, 32, 3, padding=1, seed=s[1], dtype=dtype), L.ReLU(dtype=dtype),
        L.MaxPooling2D(2, dtype=dtype), L.Flatten(dtype=dtype),
        L.Dense(features, embedding_size, seed=s[2], dtype=dtype)])


# He et al.'s CIFAR depths (their Table 6); any 6n + 2 >= 8 builds.
RESNET_DEPTHS = (20, 32, 44, 56, 110)


def resnet(depth=20, image_shape=(32, 32, 3), num_classes=10, seed=None, dtype=np.float32):
    """He et al.'s CIFAR ResNet (the CLI's ``resnet20``), a ``retrograd.Model`` graph:

        stem: Conv2D 3x3 C -> 16, padding 1 - BatchNormalization - ReLU     seed
        3 stages of n = (depth - 2) / 6 basic blocks, 16, 32 and 64 filters:
            h = ReLU(BN(Conv2D 3x3, stride s, padding 1 (x)))               seed + k
            h = BN(Conv2D 3x3, padding 1 (h))                               seed + k + 1
            out = ReLU(Add([h, shortcut(x)]))
          s = 2 at the first block of stages 2 and 3, else 1; shortcut(x) = x, or
          BN(Conv2D 1x1, stride 2 (x)) where the shape changes              seed + k + 2
        GlobalAveragePooling2D - Dense(64 -> num_classes)                   last seed

    (seeds in that order: the stem, each block's two convolutions then its projection,
    the Dense layer last.)  He, Zhang, Ren and Sun, "Deep residual learning for image
    recognition", CVPR 2016, section 4.2: 6n + 2 layers with weights; depths 20, 32, 44,
    56, 110 in the paper (``RESNET_DEPTHS``), any 6n + 2 >= 8 here, else ValueError.
    The shortcuts where the shape changes are 1x1 projections with BatchNormalization
    (the paper's option B; its CIFAR runs use option A, zero padding, which has no
    parameters).  The Conv2D layers keep their biases (a bias before BatchNormalization
    cancels in training: it only shifts the batch mean).  BatchNormalization has
    momentum 0.9 and epsilon 1e-5 (torch's defaults).

    Any input size and channel count: the stride-2 convolutions give ceil(H/2) x
    ceil(W/2) (32 -> 16 -> 8 on CIFAR, 8 -> 4 -> 2 on the digits), as torch's
    ``padding=1`` does (symmetric padding, where Keras's "same" would pad only after an
    even side).  Layers are named ``stem_conv``, ``stage2_block1_conv1``,
    ``stage2_block1_shortcut_bn``, ``logits`` and so on (``copy_resnet_to_torch`` pairs
    them with ``torch_resnet``'s modules by these names).  On 32x32x3 with 10 classes,
    ResNet-20 has 273,258 parameters (the paper's "0.27M") and 1,568 values of state
    (the moving means and variances).
    """
    owner = "resnet"
    blocks = _resnet_blocks(depth, owner)
    num_classes = check_positive_int(num_classes, owner, "num_classes")
    return _resnet_graph(owner, blocks, image_shape, num_classes, seed, dtype)


def _resnet_blocks(depth, owner, widths=(16, 32, 64)):
    """[(name, input channels, filters, stride)] of the basic blocks of a 6n + 2 ResNet."""
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral):
        fail(owner, "depth an integer 6n + 2 (20, 32, 44, 56, 110...)", depth, TypeError)
    if depth < 8 or (depth - 2) % 6:
        fail(owner, "depth 6n + 2 with n >= 1 (8, 14, 20, 32, 44, 56, 110...)", depth)
    blocks, channels = [], widths[0]
    for stage, filters in enumerate(widths, 1):
        for block in range(1, (depth - 2) // 6 + 1):
            stride = 2 if stage > 1 and block == 1 else 1
            blocks.append((f"stage{stage}_block{block}", channels, filters, stride))
            channels = filters
    return blocks


def _projects(channels, filters, stride):
    return stride != 1 or channels != filters


def _resnet_graph(owner, blocks, image_shape, num_classes, seed, dtype):
    """The ResNet graph of ``blocks`` (as ``_resnet_blocks`` lists them): stem, blocks,
    global average pooling, Dense."""
    from .models import Input, Model
    dtype = as_dtype(dtype, owner)
    height, width, channels = _image_shape(image_shape, owner)
    projections = sum(_projects(*b[1:]) for b in blocks)
    seeds = iter(_seeds(seed, 2 + 2 * len(blocks) + projections, owner))
    L = _layers

    def conv_bn(h, name, cin, cout, kernel, stride, suffix=""):
        h = L.Conv2D(cin, cout, kernel, stride=stride, padding=kernel // 2, seed=next(seeds),
                     dtype=dtype, name=f"{name}_conv{suffix}")(h)
        return L.BatchNormalization(cout, dtype=dtype, name=f"{name}_bn{suffix}")(h)

    x = Input((height, width, channels), dtype=dtype, name="images")
    stem = blocks[0][1]
    h = L.ReLU(dtype=dtype, name="stem_relu")(conv_bn(x, "stem", channels, stem, 3, 1))
    for name, cin, cout, stride in blocks:
        r = L.ReLU(dtype=dtype, name=f"{name}_relu1")(conv_bn(h, name, cin, cout, 3, stride, 1))
        r = conv_bn(r, name, cout, cout, 3, 1, 2)
        shortcut = (conv_bn(h, f"{name}_shortcut", cin, cout, 1, stride)
                    if _projects(cin, cout, stride) else h)
        h = L.ReLU(dtype=dtype, name=f"{name}_relu2")(
            L.Add(dtype=dtype, name=f"{name}_add")([r, shortcut]))
    h = L.GlobalAveragePooling2D(dtype=dtype, name="pool")(h)
    logits = L.Dense(blocks[-1][2], num_classes, seed=next(seeds), dtype=dtype,
                     name="logits")(h)
    return Model(x, logits, name=owner)


def _sequential(layer_list):
    from .models import Sequential
    return Sequential(layer_list)


# ---- the same networks in PyTorch ------------------------------------------------------------
def _torch_module(owner, layer_list, seed, dtype):
    """nn.Sequential of the modules ``layer_list(nn)`` builds (a list, or an OrderedDict
    of named modules), in channels-last memory,
    initialised from ``seed`` (PyTorch's own initialisation, not ours) without touching
    the global generator's state; None leaves the global generator in charge."""
    import torch
    dtype = as_dtype(dtype, owner)
    seed = check_seed(seed, owner)
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    if seed is None:
        modules = layer_list(torch.nn)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            modules = layer_list(torch.nn)
    # a dict of named modules keeps its names (module.stem_conv, ...)
    sequential = (torch.nn.Sequential(modules) if isinstance(modules, dict)
                  else torch.nn.Sequential(*modules))
    return sequential.to(dtype=torch_dtype, memory_format=torch.channels_last)


def torch_lenet(image_shape=(28, 28, 1), seed=None, dtype=np.float32):
    """``lenet`` in PyTorch: nn.Conv2d 5x5 6 - ReLU - MaxPool2d 2 - Conv2d 5x5 16 - ReLU -
    MaxPool2d 2 - Flatten - Linear 120 - ReLU - Linear 84 - ReLU - Linear 10 (logits),
    NCHW in channels-last memory."""
    height, width, channels = _image_shape(image_shape, "lenet")
    features = 16 * (((height - 4) // 2 - 4) // 2) * (((width - 4) // 2 - 4) // 2)
    return _torch_module("torch_lenet", lambda nn: [
        nn.Conv2d(channels, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(features, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)], seed, dtype)


def torch_vgg_cifar(image_shape=(32, 32, 3), seed=None, dtype=np.float32):
    """``vgg_cifar`` in PyTorch: Conv2d 3x3 32, padding 1 - ReLU - Conv2d 3x3 32 - ReLU -
    MaxPool2d 2 - Conv2d 3x3 64 - ReLU - Conv2d 3x3 64 - ReLU - MaxPool2d 2 - Flatten -
    Linear 256 - ReLU - Linear 10 (logits), NCHW in channels-last memory."""
    height, width, channels = _image_shape(image_shape, "vgg_cifar")
    features = 64 * (height // 4) * (width // 4)
    return _torch_module("torch_vgg_cifar", lambda nn: [
        nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1),
        nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(features, 256), nn.ReLU(), nn.Linear(256, 10)], seed, dtype)


def torch_resnet(depth=20, image_shape=(32, 32, 3), num_classes=10, seed=None, dtype=np.float32):
    """``resnet`` in PyTorch: an nn.Sequential of named modules, NCHW in channels-last
    memory: ``stem_conv`` (Conv2d 3x3, padding 1), ``stem_bn`` (BatchNorm2d with
    momentum 0.1 = 1 - ours, eps 1e-5), ``stem_relu``, one module per basic block
    (``stage1_block1``, ...: ``conv1``, ``bn1``, ``conv2``, ``bn2`` and, where the shape
    changes, ``shortcut_conv`` (1x1, stride 2) and ``shortcut_bn``), ``pool``
    (AdaptiveAvgPool2d 1), ``flatten``, ``logits`` (Linear).  ``copy_resnet_to_torch``
    copies a retrograd ``resnet``'s weights and moving statistics into it."""
    owner = "torch_resnet"
    blocks = _resnet_blocks(depth, owner)
    num_classes = check_positive_int(num_classes, owner, "num_classes")
    _, _, channels = _image_shape(image_shape, owner)
    return _torch_module(owner, lambda nn: _torch_resnet_modules(nn, blocks, channels,
                                                                 num_classes), seed, dtype)


def _torch_resnet_modules(nn, blocks, channels, num_classes):
    import collections

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
            self.bn1 = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
            self.bn2 = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
            self.projects = _projects(cin, cout, stride)
            if self.projects:
                self.shortcut_conv = nn.Conv2d(cin, cout, 1, stride=stride)
                self.shortcut_bn = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)

        def forward(self, x):
            h = self.bn2(self.conv2(nn.functional.relu(self.bn1(self.conv1(x)))))
            shortcut = self.shortcut_bn(self.shortcut_conv(x)) if self.projects else x
            return nn.functional.relu(h + shortcut)

    stem = blocks[0][1]
    modules = collections.OrderedDict([
        ("stem_conv", nn.Conv2d(channels, stem, 3, padding=1)),
        ("stem_bn", nn.BatchNorm2d(stem, eps=1e-5, momentum=0.1)), ("stem_relu", nn.ReLU())])
    for name, cin, cout, stride in blocks:
        modules[name] = BasicBlock(cin, cout, stride)
    modules["pool"] = nn.AdaptiveAvgPool2d(1)
    modules["flatten"] = nn.Flatten()
    modules["logits"] = nn.Linear(blocks[-1][2], num_classes)
    return modules


def copy_resnet_to_torch(model, module):
    """Copy the weights and moving statistics of a retrograd ``resnet`` into the
    ``torch_resnet`` module of the same depth and shapes, pairing layers by name
    (``stage2_block1_conv1`` with ``stage2_block1.conv1``).  Conv2D kernels (F, C, KH,
    KW) are torch's layout; Dense weights (in, out) are transposed; BatchNormalization's
    gamma, beta, moving_mean, moving_var go to weight, bias, running_mean, running_var.
    Returns the [(retrograd layer, torch module)] pairs, in the order of
    ``model.params``, so that gradients can be compared too."""
    import torch
    ours = {layer.name: layer for layer in model.layers if layer.params}
    theirs = {name.replace(".", "_"): m for name, m in module.named_modules()
              if isinstance(m, (torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.Linear))}
    if ours.keys() != theirs.keys():
        fail("copy_resnet_to_torch", "a torch_resnet of the same architecture as the model",
             sorted(set(ours) ^ set(theirs)))
    pairs = []
    with torch.no_grad():
        for layer in model.layers:
            if not layer.params:
                continue
            m = theirs[layer.name]
            values = {torch.nn.Conv2d: lambda: [layer.kernels, layer.biases],
                      torch.nn.Linear: lambda: [layer.weights.T, layer.biases],
                      torch.nn.BatchNorm2d: lambda: [layer.gamma, layer.beta]}[type(m)]()
            targets = [m.weight, m.bias]
            if isinstance(m, torch.nn.BatchNorm2d):
                values += [layer.moving_mean, layer.moving_var]
                targets += [m.running_mean, m.running_var]
            for target, value in zip(targets, values):
                if tuple(target.shape) != value.shape:
                    fail("copy_resnet_to_torch", f"{layer.name} of shape {tuple(target.shape)}",
                         value.shape)
                target.copy_(torch.from_numpy(np.ascontiguousarray(value)))
            pairs.append((layer, m))
    return pairs
