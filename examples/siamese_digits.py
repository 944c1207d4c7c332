"""Siamese and triplet networks on the bundled 8x8 digits: one shared encoder per network.

A siamese network runs ONE encoder on two images; ContrastiveLoss (Hadsell, Chopra and
LeCun 2006) pulls the embeddings of a similar pair (same digit) together and pushes a
dissimilar pair at least ``margin`` apart:

    L = mean 1/2 [s d^2 + (1 - s) max(0, margin - d)^2],   d = |f(x1) - f(x2)|_2

A triplet network runs the same encoder on an anchor, a positive (same digit) and a
negative (another digit); TripletLoss (textbook eq. 10.17, squared distances) asks the
negative to be ``margin`` farther than the positive:

    L = mean max(0, |f(a) - f(p)|^2 - |f(a) - f(n)|^2 + margin)

Each branch is the same ``Sequential`` (``zoo.embedding_cnn``) called on its own
``retrograd.Input``, so the branches share one set of weights and its gradient is the
sum over the branches:

    a, b = retrograd.Input((8, 8, 1)), retrograd.Input((8, 8, 1))
    model = retrograd.Model([a, b], [encoder(a), encoder(b)])

Pairs and triplets are drawn from the training split only, with a seeded generator,
afresh for every epoch (a new draw each epoch generalises better than one fixed set).
After training, each test image is classified by its nearest training image in the
embedding space (1-NN, Euclidean distance on ``encoder.predict``).  For comparison the
script prints the same 1-NN accuracy on the raw 64 pixels and on the untrained
encoder's embeddings.

Run:  python examples/siamese_digits.py [--epochs 10] [--seed 0] [--backend native|numpy]
"""
import argparse
import time

import numpy as np

import retrograd
from retrograd import zoo
from retrograd.datasets import load_digits, train_test_split
from retrograd.losses import ContrastiveLoss, TripletLoss
from retrograd.optimizers import Adam

IMAGE_SHAPE = (8, 8, 1)
EMBEDDING_SIZE = 16
EPOCHS = 10
PAIRS_PER_EPOCH = 4000          # pairs (contrastive) or triplets (triplet) drawn each epoch
BATCH_SIZE = 64
LEARNING_RATE = 1e-3            # Adam
CONTRASTIVE_MARGIN = 2.0        # on the distance d
TRIPLET_MARGIN = 1.0            # on the difference of squared distances
NETWORKS = ("contrastive", "triplet")


def load_split(seed=0):
    """The digits split 80/20, stratified: (x_train, x_test, y_train, y_test)."""
    x, y = load_digits()
    return train_test_split(x, y, test_size=0.2, stratify=y, seed=seed)


def _class_members(labels):
    labels = np.asarray(labels)
    classes = np.unique(labels)
    return np.searchsorted(classes, labels), [np.flatnonzero(labels == c) for c in classes]


def _member_of(classes, members, rng):
    """One random sample of class ``classes[k]`` for every k."""
    out = np.empty(len(classes), dtype=np.int64)
    for c, indices in enumerate(members):
        where = np.flatnonzero(classes == c)
        out[where] = indices[rng.integers(len(indices), size=len(where))]
    return out


def _other_class(classes, n_classes, rng):
    """A class other than ``classes[k]`` for every k, uniformly among the others."""
    return (classes + rng.integers(1, n_classes, size=len(classes))) % n_classes


def draw_pairs(labels, count, rng):
    """``count`` pairs of sample indices (first, second, similar): half of them similar
    (second of the same class as first; similar = 1), the other half dissimilar
    (second of another class drawn uniformly; similar = 0), in random order.  ``rng``
    is a ``np.random.Generator``."""
    cls, members = _class_members(labels)
    similar = rng.permutation(np.arange(count) < count // 2).astype(np.float32)
    first = rng.integers(len(cls), size=count)
    partner = np.where(similar == 1, cls[first], _other_class(cls[first], len(members), rng))
    return first, _member_of(partner, members, rng), similar


def draw_triplets(labels, count, rng):
    """``count`` triplets of sample indices (anchor, positive, negative): the positive of
    the anchor's class, the negative of another class drawn uniformly."""
    cls, members = _class_members(labels)
    anchor = rng.integers(len(cls), size=count)
    positive = _member_of(cls[anchor], members, rng)
    negative = _member_of(_other_class(cls[anchor], len(members), rng), members, rng)
    return anchor, positive, negative


def siamese_model(encoder, branches):
    """``Model`` of ``branches`` inputs whose outputs are ``encoder`` applied to each:
    one encoder, shared by every branch."""
    inputs = [retrograd.Input(IMAGE_SHAPE, name=f"image_{k}") for k in range(branches)]
    return retrograd.Model(inputs, [encoder(x) for x in inputs])


def train(network, x_train, y_train, epochs=EPOCHS, seed=0, pairs=PAIRS_PER_EPOCH,
          embedding_size=EMBEDDING_SIZE, learning_rate=LEARNING_RATE, margin=None,
          batch_size=BATCH_SIZE, verbose=False):
    """Train a shared encoder as ``network`` ("contrastive": a siamese pair with
    ContrastiveLoss; "triplet": three branches with TripletLoss) on pairs / triplets of
    the training images, ``pairs`` of them drawn afresh each epoch.  ``seed`` fixes the
    encoder's initial weights, the draws and the batch order.  Returns (encoder, the
    loss of each epoch)."""
    if network not in NETWORKS:
        raise ValueError(f"train: expected network one of {', '.join(NETWORKS)}, "
                         f"got {network!r}")
    encoder = zoo.embedding_cnn(IMAGE_SHAPE, embedding_size=embedding_size, seed=seed)
    if network == "contrastive":
        model = siamese_model(encoder, 2)
        loss = ContrastiveLoss(CONTRASTIVE_MARGIN if margin is None else margin)
    else:
        model = siamese_model(encoder, 3)
        loss = TripletLoss(TRIPLET_MARGIN if margin is None else margin)
    model.compile(loss, Adam(learning_rate))
    rng = np.random.default_rng(seed)
    losses = []
    for epoch in range(epochs):
        if network == "contrastive":
            first, second, similar = draw_pairs(y_train, pairs, rng)
            x, y = [x_train[first], x_train[second]], similar
        else:
            x, y = [x_train[k] for k in draw_triplets(y_train, pairs, rng)], None
        # initial_epoch: the batch order of epoch e, as one fit over every epoch would draw
        history = model.fit(x, y, epochs=epoch + 1, initial_epoch=epoch,
                            batch_size=batch_size, seed=seed, verbose=0)
        losses.append(history.history["loss"][-1])
        if verbose:
            print(f"  {network} epoch {epoch + 1}/{epochs}: loss {losses[-1]:.4f}")
    return encoder, losses


def nearest_neighbour_accuracy(train_embeddings, y_train, test_embeddings, y_test):
    """The fraction of test samples whose nearest training sample (Euclidean distance;
    the first one on ties) has the same label."""
    a = np.asarray(test_embeddings, dtype=np.float64).reshape(len(test_embeddings), -1)
    b = np.asarray(train_embeddings, dtype=np.float64).reshape(len(train_embeddings), -1)
    squared = (a * a).sum(1)[:, None] - 2.0 * a @ b.T + (b * b).sum(1)[None, :]
    return float(np.mean(np.asarray(y_train)[np.argmin(squared, axis=1)] == y_test))


def encoder_accuracy(encoder, x_train, y_train, x_test, y_test):
    """1-NN accuracy of the test embeddings against the training embeddings."""
    return nearest_neighbour_accuracy(encoder.predict(x_train), y_train,
                                      encoder.predict(x_test), y_test)


def run(network, epochs=EPOCHS, seed=0, pairs=PAIRS_PER_EPOCH, split=None, verbose=False):
    """Train ``network`` and measure it: {"accuracy", "untrained_accuracy", "losses",
    "seconds"}.  ``split`` is ``load_split()``'s tuple (loaded when None)."""
    x_train, x_test, y_train, y_test = load_split() if split is None else split
    untrained = zoo.embedding_cnn(IMAGE_SHAPE, embedding_size=EMBEDDING_SIZE, seed=seed)
    start = time.perf_counter()
    encoder, losses = train(network, x_train, y_train, epochs=epochs, seed=seed, pairs=pairs,
                            verbose=verbose)
    seconds = time.perf_counter() - start
    return {"accuracy": encoder_accuracy(encoder, x_train, y_train, x_test, y_test),
            "untrained_accuracy": encoder_accuracy(untrained, x_train, y_train, x_test, y_test),
            "losses": losses, "seconds": seconds, "encoder": encoder}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seed", type=int, default=0,
                        help="initial weights, pair / triplet draws and batch order")
    parser.add_argument("--pairs", type=int, default=PAIRS_PER_EPOCH,
                        help="pairs or triplets drawn per epoch")
    parser.add_argument("--backend", choices=("native", "numpy"),
                        default=retrograd.get_backend())
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.pairs < 2 or args.seed < 0:
        parser.error("--epochs must be >= 1, --pairs >= 2 and --seed >= 0")
    with retrograd.use_backend(args.backend):
        split = load_split()
        x_train, x_test, y_train, y_test = split
        print(f"backend: {args.backend}   seed: {args.seed}   digits: {len(x_train)} train, "
              f"{len(x_test)} test   embedding: {EMBEDDING_SIZE} dimensions")
        print(f"{args.epochs} epochs of {args.pairs} pairs / triplets, batch {BATCH_SIZE}, "
              f"Adam {LEARNING_RATE:g}; margins: contrastive {CONTRASTIVE_MARGIN:g}, "
              f"triplet {TRIPLET_MARGIN:g}")
        raw = nearest_neighbour_accuracy(x_train, y_train, x_test, y_test)
        results = {}
        for network in NETWORKS:
            print(f"\n{network}:")
            results[network] = run(network, args.epochs, args.seed, args.pairs, split,
                                   verbose=True)
        print("\n1-NN accuracy of the test digits against the training digits:")
        print(f"  {'raw pixels (64 dimensions)':<34}{raw:>8.2%}")
        # both networks start from the same weights (same seed): one untrained figure
        untrained = results[NETWORKS[0]]["untrained_accuracy"]
        print(f"  {'untrained encoder':<34}{untrained:>8.2%}")
        for network, r in results.items():
            print(f"  {network + ' (trained encoder)':<34}{r['accuracy']:>8.2%}"
                  f"   training {r['seconds']:.1f} s")
    return results


if __name__ == "__main__":
    main()
