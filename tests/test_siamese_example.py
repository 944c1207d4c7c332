"""examples/siamese_digits.py: a siamese network (ContrastiveLoss) and a triplet network
(TripletLoss), each with one encoder shared by its branches, reach >= 95 % 1-NN accuracy on
the digits' test split (issue 10)."""
import importlib.util
import pathlib

import numpy as np
import pytest

import retrograd
from retrograd import zoo

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "siamese_digits.py"
native = pytest.mark.skipif(not retrograd.native_available(), reason="native backend not built")


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("siamese_digits", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def split(example):
    return example.load_split()


# ---- the recipe: >= 95 % for each network -----------------------------------------------------
@native
@pytest.mark.parametrize("network", ["contrastive", "triplet"])
def test_the_trained_encoder_classifies_95_percent_of_the_test_digits(example, split, network):
    # The example's own settings (10 epochs of 4,000 pairs / triplets), seed 0: about 3 s each
    # on the 2-core machine.  Seeds 0-9 all give 96.4 % to 98.3 %.
    with retrograd.use_backend("native"):
        result = example.run(network, seed=0, split=split)
    assert result["accuracy"] >= 0.95, result["accuracy"]
    # training is what gets there: the same encoder untrained is far below
    assert result["untrained_accuracy"] < 0.92
    assert result["losses"][-1] < 0.5 * result["losses"][0]


@native
@pytest.mark.parametrize("network", ["contrastive", "triplet"])
def test_training_is_deterministic_with_its_seed(example, split, network):
    x_train, _, y_train, _ = split
    with retrograd.use_backend("native"):
        runs = [example.train(network, x_train, y_train, epochs=2, seed=5, pairs=600)
                for _ in range(2)]
        other = example.train(network, x_train, y_train, epochs=2, seed=6, pairs=600)
    (enc_a, loss_a), (enc_b, loss_b) = runs
    assert loss_a == loss_b
    for wa, wb in zip(enc_a.get_weights(), enc_b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert other[1] != loss_a


@pytest.mark.parametrize("network", ["contrastive", "triplet"])
def test_numpy_backend_smoke(example, split, network):
    # A short run on the NumPy reference backend (about 15x slower than native): it learns.
    with retrograd.use_backend("numpy"):
        result = example.run(network, epochs=2, seed=0, pairs=1000, split=split)
    assert result["losses"][1] < result["losses"][0]
    assert result["accuracy"] > result["untrained_accuracy"] + 0.02


@native
@pytest.mark.parametrize("network", ["contrastive", "triplet"])
def test_backends_agree_on_a_short_run(example, split, network):
    x_train, _, y_train, _ = split
    losses = {}
    for backend in ("numpy", "native"):
        with retrograd.use_backend(backend):
            losses[backend] = example.train(network, x_train, y_train, epochs=2, seed=1,
                                            pairs=256)[1]
    np.testing.assert_allclose(losses["native"], losses["numpy"], rtol=1e-3)


# ---- one encoder shared by the branches ---------------------------------------------------------
@pytest.mark.parametrize("branches", [2, 3])
def test_the_branches_share_one_encoder(example, branches):
    encoder = zoo.embedding_cnn(seed=0)
    model = example.siamese_model(encoder, branches)
    assert len(model.params) == len(encoder.params) == 3
    for group, own in zip(model.params, encoder.params):
        assert all(p is q for p, q in zip(group, own))
    x = [np.random.default_rng(k).random((4, 8, 8, 1), dtype=np.float32)
         for k in range(branches)]
    outs = model.predict(x)
    for out, xb in zip(outs, x):
        np.testing.assert_allclose(out, encoder.predict(xb), rtol=1e-6, atol=1e-6)
    # the shared encoder's gradient is the sum of its gradients through each branch
    grads = [np.random.default_rng(10 + k).standard_normal(o.shape).astype(np.float32)
             for k, o in enumerate(outs)]
    model.forward(x)
    model.backward(grads)
    total = [g.copy() for group in model.grads for g in group]
    expected = [np.zeros_like(g) for g in total]
    for xb, gb in zip(x, grads):
        encoder.forward(xb)
        encoder.backward(gb)
        for e, g in zip(expected, [g for group in encoder.grads for g in group]):
            e += g
    for t, e in zip(total, expected):
        np.testing.assert_allclose(t, e, rtol=1e-4, atol=1e-5)


# ---- pairs, triplets and the 1-NN measure -------------------------------------------------------
def test_pairs_are_half_similar_and_drawn_with_the_seed(example, split):
    _, _, y_train, _ = split
    first, second, similar = example.draw_pairs(y_train, 1001, np.random.default_rng(3))
    assert similar.dtype == np.float32 and set(np.unique(similar)) == {0.0, 1.0}
    assert int(similar.sum()) == 500
    same = y_train[first] == y_train[second]
    np.testing.assert_array_equal(same, similar == 1)
    assert first.max() < len(y_train) and second.max() < len(y_train)
    # dissimilar partners come from every other class
    assert len(np.unique(y_train[second][similar == 0])) == 10
    again = example.draw_pairs(y_train, 1001, np.random.default_rng(3))
    for a, b in zip((first, second, similar), again):
        np.testing.assert_array_equal(a, b)


def test_triplets_have_positive_of_the_class_and_negative_of_another(example, split):
    _, _, y_train, _ = split
    anchor, positive, negative = example.draw_triplets(y_train, 800, np.random.default_rng(4))
    np.testing.assert_array_equal(y_train[anchor], y_train[positive])
    assert np.all(y_train[anchor] != y_train[negative])
    assert len(np.unique(y_train[anchor])) == 10
    again = example.draw_triplets(y_train, 800, np.random.default_rng(4))
    for a, b in zip((anchor, positive, negative), again):
        np.testing.assert_array_equal(a, b)


def test_nearest_neighbour_accuracy(example):
    train = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    test = np.array([[1.0, 1.0], [9.0, 1.0], [1.0, 9.0], [6.0, 0.0]])
    assert example.nearest_neighbour_accuracy(train, [0, 1, 2], test, [0, 1, 2, 0]) == 0.75
    # the raw pixels, for the record: 1-NN on the 64 pixels gets 98.3 %
    x_train, x_test, y_train, y_test = example.load_split()
    assert example.nearest_neighbour_accuracy(x_train, y_train, x_test, y_test) > 0.95


def test_unknown_network_is_refused(example, split):
    x_train, _, y_train, _ = split
    with pytest.raises(ValueError, match="contrastive, triplet"):
        example.train("quadruplet", x_train, y_train)


# ---- the zoo's encoder ---------------------------------------------------------------------------
def test_embedding_cnn_shape_parameters_and_seed():
    model = zoo.embedding_cnn((8, 8, 1), embedding_size=16, seed=0)
    assert sum(p.size for group in model.params for p in group) == (
        (16 * 9 + 16) + (32 * 16 * 9 + 32) + (128 * 16 + 16))      # 6,864
    assert "6,864 parameters" in zoo.embedding_cnn.__doc__
    x = np.random.default_rng(0).random((3, 8, 8, 1), dtype=np.float32)
    assert model.predict(x).shape == (3, 16)
    assert zoo.embedding_cnn((12, 9, 3), embedding_size=5).predict(
        np.zeros((2, 12, 9, 3), np.float32)).shape == (2, 5)
    for a, b in zip(model.get_weights(), zoo.embedding_cnn(seed=0).get_weights()):
        np.testing.assert_array_equal(a, b)
    assert zoo.embedding_cnn(dtype=np.float64).predict(x).dtype == np.float64
    with pytest.raises(ValueError, match="embedding_cnn"):
        zoo.embedding_cnn((3, 8, 1))
    with pytest.raises(ValueError, match="embedding_cnn"):
        zoo.embedding_cnn(embedding_size=0)


def test_main_prints_the_figures(example, capsys):
    backend = "native" if retrograd.native_available() else "numpy"
    results = example.main(["--epochs", "1", "--pairs", "200", "--seed", "1",
                            "--backend", backend])
    out = capsys.readouterr().out
    for text in ("raw pixels", "untrained encoder", "contrastive (trained encoder)",
                 "triplet (trained encoder)", f"backend: {backend}", "seed: 1", "%"):
        assert text in out
    assert set(results) == {"contrastive", "triplet"}
