"""Loss functions (API.md, "Losses").

Every loss has ``forward(y_pred, y_true) -> float`` and ``backward(y_pred, y_true)
-> dL/dy_pred`` (y_pred's shape and float dtype); ``TripletLoss`` and
``ContrastiveLoss`` take their own three arguments.  The reduction is the mean:
over all elements for the element-wise losses (MSE, MAE, Huber, binary and
multi-label cross-entropy, hinge), over samples for the categorical
cross-entropies, triplet and contrastive losses.

Losses are stateless: ``backward`` recomputes what it needs from its arguments,
so the two calls may come in any order.  The base class ``Loss`` holds the input
validation, so every loss refuses bad input with the same message form
``f"{LossName}: expected {what}, got {value!r}"``.
"""
import numpy as np

from ._validation import as_array, as_float_array, as_real_array, check_bool, check_finite, fail
from .backend import ops

__all__ = ["Loss", "MeanSquaredError", "MSE", "MeanAbsoluteError", "MAE", "Huber",
           "BinaryCrossEntropy", "MultiLabelCrossEntropy", "Hinge", "CategoricalCrossEntropy",
           "SparseCategoricalCrossEntropy", "TripletLoss", "ContrastiveLoss"]

# Keras's clipping constant for probabilities fed to a logarithm.
_CATEGORICAL_EPSILON = 1e-7
# Tolerance on the row sums of one-hot / probability targets.
_ROW_SUM_TOLERANCE = 1e-3


class Loss:
    """Base class of every loss.

    ``forward(y_pred, y_true) -> float``; ``backward(y_pred, y_true) -> dL/dy_pred``
    with y_pred's shape and dtype; ``loss(y_pred, y_true)`` is ``forward``.
    y_pred must be floating point, as a layer's input (float32 and float64 are
    kept, float16 is computed in float32 and longdouble in float64; a list of
    numbers is converted; bool and integer arrays are refused with a TypeError);
    y_true may be bool, integer or float, or a list of numbers, and is computed in
    y_pred's dtype.  Complex, object and string data are refused (TypeError);
    shapes must match exactly, never broadcast.  NaN or infinite predictions are
    not errors: the loss is then NaN or infinite (see callbacks.TerminateOnNaN).
    """

    @property
    def name(self):
        return type(self).__name__

    def __call__(self, *args):
        return self.forward(*args)

    # How many model outputs the loss compares (TripletLoss 3, ContrastiveLoss 2) and
    # whether it takes targets besides them (TripletLoss does not).
    n_predictions = 1
    takes_target = True

    def forward(self, y_pred, y_true):
        """The loss (a float), reduced by the mean (see the class docstring)."""
        return float(self._value(*self._checked(y_pred, y_true)))

    def backward(self, y_pred, y_true):
        """dL/d y_pred, an array of y_pred's shape and float dtype."""
        return self._gradient(*self._checked(y_pred, y_true))

    def forward_backward(self, *args):
        """(loss, dL/d y_pred) in one pass, as training calls it: the arguments are
        checked once and work shared by both (the fused softmax cross-entropy) is
        done once; the same numbers as ``forward`` and ``backward``.  For
        TripletLoss and ContrastiveLoss the gradient is their tuple of gradients."""
        value, grad = self._value_and_gradient(*self._checked(*args))
        return float(value), grad

    # ---- what each loss defines: checks, value, gradient ----------------------------------
    def _checked(self, y_pred, y_true):
        """The validated arrays the formulas take (by default y_pred and y_true of the
        same shape)."""
        return self._pair(y_pred, y_true)

    def _value(self, *arrays):
        raise NotImplementedError(f"{self.name} does not implement forward")

    def _gradient(self, *arrays):
        raise NotImplementedError(f"{self.name} does not implement backward")

    def _value_and_gradient(self, *arrays):
        return self._value(*arrays), self._gradient(*arrays)

    def get_config(self):
        """Constructor arguments that rebuild this loss (JSON-serialisable)."""
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{self.name}({args})"

    # ---- validation shared by every loss --------------------------------------------------
    def _prediction(self, x, name="y_pred"):
        """A float prediction array with a non-empty batch axis, kept in float32/float64."""
        arr = as_real_array(x, self.name, name)
        dtype = np.float64 if arr.dtype.itemsize >= 8 else np.float32
        arr = as_float_array(arr, self.name, dtype, name)
        if arr.ndim == 0:
            fail(self.name, f"{name} with a batch axis (N, ...)", arr.shape)
        if arr.size == 0:
            fail(self.name, f"a non-empty {name}", arr.shape)
        return arr

    def _target(self, y, dtype, shape, name="y_true"):
        """Numeric targets of exactly ``shape`` (no broadcasting), cast to ``dtype``."""
        arr = as_array(y, self.name, name)
        if arr.dtype.kind not in "biuf":
            fail(self.name, f"a numeric {name}", arr.dtype, TypeError)
        if arr.shape != shape:
            fail(self.name, f"{name} of shape {shape}", arr.shape)
        return arr.astype(dtype, copy=False)

    def _pair(self, y_pred, y_true):
        """y_pred and y_true of the same shape (any rank), y_true in y_pred's dtype."""
        p = self._prediction(y_pred)
        return p, self._target(y_true, p.dtype, p.shape)

    def _matrix(self, x, name="y_pred", shape_text="(N, C)"):
        """A float rank-2 prediction: (N, C) scores or (N, D) embeddings."""
        arr = self._prediction(x, name)
        if arr.ndim != 2:
            fail(self.name, f"{name} of shape {shape_text}", arr.shape)
        return arr

    def _in_set(self, y, allowed, text, name="y_true"):
        """Refuse targets outside the finite set ``allowed``."""
        bad = ~np.isin(y, allowed)
        if bad.any():
            fail(self.name, f"{name} values in {text}", y[bad][0].item())


class MeanSquaredError(Loss):
    """Mean squared error over all elements.

    L = mean (p - y)^2;   dL/dp = 2 (p - y) / n,   n = number of elements.

    Shapes: y_pred and y_true the same shape (N, ...).

    Example:
        >>> MeanSquaredError().forward(np.array([[1.0, 3.0]]), np.array([[0.0, 1.0]]))
        2.5
    """

    def _value(self, p, y):
        return float(np.mean(np.square(p - y)))

    def _gradient(self, p, y):
        return (p - y) * p.dtype.type(2 / p.size)


class MeanAbsoluteError(Loss):
    """Mean absolute error over all elements.

    L = mean |p - y|;   dL/dp = sign(p - y) / n  (0 where p = y),  n = number of elements.

    Shapes: y_pred and y_true the same shape (N, ...).

    Example:
        >>> MeanAbsoluteError().forward(np.array([[1.0, 3.0]]), np.array([[0.0, 1.0]]))
        1.5
    """

    def _value(self, p, y):
        return float(np.mean(np.abs(p - y)))

    def _gradient(self, p, y):
        return np.sign(p - y) * p.dtype.type(1 / p.size)


class Huber(Loss):
    """Huber loss (textbook eq. 10.5), quadratic near zero and linear beyond ``delta``.

    With r = p - y:
        l(r) = 1/2 r^2                  if |r| <= delta
             = delta (|r| - delta/2)    otherwise
    L = mean l(r);   dL/dp = r / n if |r| <= delta else delta sign(r) / n.

    Args:
        delta: the positive threshold between the two pieces (default 1.0).

    Shapes: y_pred and y_true the same shape (N, ...).

    Example:
        >>> Huber(delta=1.0).forward(np.array([[0.5, 3.0]]), np.array([[0.0, 0.0]]))
        1.3125
    """

    def __init__(self, delta=1.0):
        self.delta = check_finite(delta, self.name, "delta", low=0.0, low_open=True)

    def _value(self, p, y):
        r = np.abs(p - y)
        delta = p.dtype.type(self.delta)
        return float(np.mean(np.where(r <= delta, r * r / 2, delta * (r - delta / 2))))

    def _gradient(self, p, y):
        r = p - y
        delta = p.dtype.type(self.delta)
        return np.clip(r, -delta, delta) * p.dtype.type(1 / p.size)

    def get_config(self):
        return {"delta": self.delta}


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy, averaged over all elements.

    Probabilities (from_logits=False), p clipped to [eps, 1 - eps]:
        L = -mean [y log p + (1 - y) log(1 - p)]
        dL/dp = (p - y) / (p (1 - p)) / n  inside the clip range, 0 where p was clipped.
    Logits (from_logits=True), the stable log-sigmoid form:
        L = mean [max(z, 0) - z y + log(1 + e^-|z|)]
        dL/dz = (sigmoid(z) - y) / n.
    n is the number of elements; targets y lie in [0, 1] (soft targets allowed).

    Args:
        from_logits: y_pred holds logits z instead of probabilities p (True or False).
        epsilon: clipping constant of the probability form, 0 < epsilon < 0.5.

    Shapes: y_pred and y_true the same shape (N, ...).

    Example:
        >>> BinaryCrossEntropy(from_logits=True).forward(np.array([[0.0]]), np.array([[1.0]]))
        0.6931471805599453
    """

    def __init__(self, from_logits=False, epsilon=1e-7):
        self.from_logits = check_bool(from_logits, self.name, "from_logits")
        self.epsilon = check_finite(epsilon, self.name, "epsilon", low=0.0, low_open=True)
        if self.epsilon >= 0.5:
            fail(self.name, "epsilon < 0.5", self.epsilon)

    def _checked(self, y_pred, y_true):
        p, y = self._pair(y_pred, y_true)
        self._check_targets(y)
        return p, y

    def _check_targets(self, y):
        outside = ~((y >= 0) & (y <= 1))
        if outside.any():
            fail(self.name, "y_true values in [0, 1]", y[outside][0].item())

    def _clipped(self, p):
        """p clipped to [eps, 1 - eps] in p's dtype, and the mask where it was not clipped.
        The upper bound is kept below 1 even when 1 - eps rounds to 1 in float32."""
        lo = p.dtype.type(self.epsilon)
        hi = min(p.dtype.type(1 - self.epsilon), np.nextafter(p.dtype.type(1), p.dtype.type(0)))
        return np.clip(p, lo, hi), (p >= lo) & (p <= hi)

    def _value(self, p, y):
        if self.from_logits:
            z = p
            # e^-|z| rounding to 0 (or a subnormal) for large |z| is the correctly rounded
            # value, not a failure: the underflow flag is not an error here.
            with np.errstate(under="ignore"):
                return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
        q, _ = self._clipped(p)
        return float(-np.mean(y * np.log(q) + (1 - y) * np.log1p(-q)))

    def _gradient(self, p, y):
        scale = p.dtype.type(1 / p.size)
        if self.from_logits:
            # sigmoid(z) of a very negative z is subnormal or 0; scaling it may round to 0.
            with np.errstate(under="ignore"):
                return (ops.sigmoid_forward(p) - y) * scale
        q, inside = self._clipped(p)
        return np.where(inside, (q - y) / (q * (1 - q)), 0).astype(p.dtype, copy=False) * scale

    def get_config(self):
        return {"from_logits": self.from_logits, "epsilon": self.epsilon}


class MultiLabelCrossEntropy(BinaryCrossEntropy):
    """Multi-label cross-entropy (textbook eq. 10.15): C independent binary
    cross-entropies per sample, 1/C of their sum per sample, averaged over samples,
    i.e. the mean over all N*C elements, so the same numbers as BinaryCrossEntropy:

        L = -1/(N C) sum_{n,c} [y log p + (1 - y) log(1 - p)]
        dL/dp = (p - y) / (p (1 - p)) / (N C)     (dL/dz = (sigmoid(z) - y) / (N C) for logits)

    Args:
        from_logits, epsilon: as in BinaryCrossEntropy.

    Shapes: y_pred (N, C); y_true (N, C) with values in {0, 1}.

    Example:
        >>> MultiLabelCrossEntropy(from_logits=True).forward(np.zeros((2, 3)), np.eye(2, 3))
        0.6931471805599453
    """

    def _checked(self, y_pred, y_true):
        p = self._matrix(y_pred)
        y = self._target(y_true, p.dtype, p.shape)
        self._check_targets(y)
        return p, y

    def _check_targets(self, y):
        self._in_set(y, (0, 1), "{0, 1}")


class Hinge(Loss):
    """Hinge loss for targets y in {-1, +1} and scores f, averaged over all elements.

    L = mean max(0, 1 - y f);   dL/df = -y / n where 1 - y f > 0, else 0
    (the subgradient 0 at the kink y f = 1).

    Shapes: y_pred (scores) and y_true the same shape (N, ...).

    Example:
        >>> Hinge().forward(np.array([[0.5, 2.0]]), np.array([[1, -1]]))
        1.75
    """

    def _checked(self, y_pred, y_true):
        f, y = self._pair(y_pred, y_true)
        self._in_set(y, (-1, 1), "{-1, +1}")
        return f, y

    def _value(self, f, y):
        return float(np.mean(np.maximum(1 - y * f, 0)))

    def _gradient(self, f, y):
        return np.where(1 - y * f > 0, -y, 0).astype(f.dtype, copy=False) * f.dtype.type(1 / f.size)


class CategoricalCrossEntropy(Loss):
    """Categorical cross-entropy with one-hot (or probability-row) targets, averaged
    over samples.

    Probabilities (from_logits=False), p clipped to [eps, 1] with eps = 1e-7 (as Keras):
        L = -1/N sum_n sum_c y log p
        dL/dp = -y / (N p)  inside the clip range, 0 where p was clipped.
    Logits (from_logits=True), softmax folded in and computed with log-sum-exp by the
    kernel ``ops.softmax_cross_entropy``:
        L = -1/N sum_n sum_c y log softmax(z)
        dL/dz = (softmax(z) - y) / N        (the fused softmax + cross-entropy gradient).

    Args:
        from_logits: y_pred holds logits z instead of probabilities p (True or False).

    Shapes: y_pred (N, C); y_true (N, C), rows in [0, 1] summing to 1 (within 1e-3).

    Example:
        >>> CategoricalCrossEntropy().forward(np.array([[0.5, 0.5]]), np.array([[1, 0]]))
        0.6931471805599453
    """

    def __init__(self, from_logits=False):
        self.from_logits = check_bool(from_logits, self.name, "from_logits")

    def _checked(self, y_pred, y_true):
        p = self._matrix(y_pred)
        y = self._target(y_true, p.dtype, p.shape)
        outside = ~((y >= 0) & (y <= 1))
        if outside.any():
            fail(self.name, "y_true values in [0, 1]", y[outside][0].item())
        sums = y.sum(axis=1)
        off = np.abs(sums - 1) > _ROW_SUM_TOLERANCE
        if off.any():
            fail(self.name, "y_true rows summing to 1 (one-hot)", sums[off][0].item())
        return p, y

    def _value(self, p, y):
        if self.from_logits:
            loss, _ = ops.softmax_cross_entropy(p, y)
            return float(loss)
        q = np.clip(p, p.dtype.type(_CATEGORICAL_EPSILON), p.dtype.type(1))
        return float(-np.sum(y * np.log(q)) / p.shape[0])

    def _gradient(self, p, y):
        if self.from_logits:
            _, grad = ops.softmax_cross_entropy(p, y)
            return grad
        eps, one = p.dtype.type(_CATEGORICAL_EPSILON), p.dtype.type(1)
        q = np.clip(p, eps, one)
        grad = np.where((p >= eps) & (p <= one), -y / q, 0).astype(p.dtype, copy=False)
        return grad * p.dtype.type(1 / p.shape[0])

    def _value_and_gradient(self, p, y):
        if self.from_logits:  # the fused kernel gives both at once
            loss, grad = ops.softmax_cross_entropy(p, y)
            return float(loss), grad
        return self._value(p, y), self._gradient(p, y)

    def get_config(self):
        return {"from_logits": self.from_logits}


class SparseCategoricalCrossEntropy(CategoricalCrossEntropy):
    """Categorical cross-entropy with integer class labels: the labels are turned
    into one-hot rows, then the numbers are those of CategoricalCrossEntropy:

        L = -1/N sum_n log p[n, y_n]          dL/dp[n, c] = -[c = y_n] / (N p[n, c])
        (logits: L = -1/N sum_n log softmax(z)[n, y_n],  dL/dz = (softmax(z) - onehot(y)) / N)

    Args:
        from_logits: y_pred holds logits z instead of probabilities p (True or False).

    Shapes: y_pred (N, C); y_true (N,) integers in [0, C) (integer-valued floats accepted;
    bools, fractions, NaN and labels outside [0, C) are refused).

    Example:
        >>> SparseCategoricalCrossEntropy().forward(np.array([[0.5, 0.5]]), np.array([0]))
        0.6931471805599453
    """

    def _checked(self, y_pred, y_true):
        p = self._matrix(y_pred)
        n, c = p.shape
        labels = as_array(y_true, self.name, "y_true")
        if labels.dtype.kind not in "iuf":
            fail(self.name, "integer class labels y_true", labels.dtype, TypeError)
        if labels.shape != (n,):
            fail(self.name, f"y_true of shape ({n},)", labels.shape)
        if labels.dtype.kind == "f":
            fractional = ~(np.isfinite(labels) & (labels == np.round(labels)))
            if fractional.any():
                fail(self.name, "integer class labels y_true", labels[fractional][0].item())
        outside = (labels < 0) | (labels >= c)
        if outside.any():
            fail(self.name, f"class labels in [0, {c})", labels[outside][0].item())
        onehot = np.zeros_like(p)
        onehot[np.arange(n), labels.astype(np.intp)] = 1
        return p, onehot


class TripletLoss(Loss):
    """Triplet loss with squared Euclidean distances (textbook eq. 10.17), averaged over samples.

    With d_p = |a - p|^2 and d_n = |a - n|^2 per sample, h = d_p - d_n + margin:
        L = 1/N sum_n max(0, h)
        where h > 0:  dL/da = 2 (n - p) / N,  dL/dp = -2 (a - p) / N,  dL/dn = 2 (a - n) / N;
        0 elsewhere (the subgradient 0 at h = 0).

    Args:
        margin: the positive gap wanted between negative and positive distances (default 1.0).

    Shapes: anchor, positive, negative (N, D), float; the gradients have the anchor's dtype.
    ``forward(anchor, positive, negative) -> float``;
    ``backward(anchor, positive, negative) -> (d_anchor, d_positive, d_negative)``.

    Example:
        >>> TripletLoss(margin=1.0).forward(np.zeros((1, 2)), np.ones((1, 2)), np.zeros((1, 2)))
        3.0
    """

    def __init__(self, margin=1.0):
        self.margin = check_finite(margin, self.name, "margin", low=0.0, low_open=True)

    def _checked(self, anchor, positive, negative):
        a = self._matrix(anchor, "anchor", "(N, D)")
        shape_text = f"of shape {a.shape}"
        arrays = [a]
        for x, name in ((positive, "positive"), (negative, "negative")):
            x = self._prediction(x, name)
            if x.shape != a.shape:
                fail(self.name, f"{name} {shape_text}", x.shape)
            arrays.append(x.astype(a.dtype, copy=False))
        return arrays

    def _hinge(self, a, p, n):
        h = np.sum(np.square(a - p), axis=1) - np.sum(np.square(a - n), axis=1)
        return h + a.dtype.type(self.margin)

    n_predictions = 3
    takes_target = False

    def forward(self, anchor, positive, negative):
        return float(self._value(*self._checked(anchor, positive, negative)))

    def backward(self, anchor, positive, negative):
        return self._gradient(*self._checked(anchor, positive, negative))

    def _value(self, a, p, n):
        return float(np.mean(np.maximum(self._hinge(a, p, n), 0)))

    def _gradient(self, a, p, n):
        active = (self._hinge(a, p, n) > 0)[:, None]
        scale = a.dtype.type(2 / a.shape[0])
        d_pos = np.where(active, (p - a) * scale, 0).astype(a.dtype, copy=False)
        d_neg = np.where(active, (a - n) * scale, 0).astype(a.dtype, copy=False)
        return -(d_pos + d_neg), d_pos, d_neg

    def get_config(self):
        return {"margin": self.margin}


class ContrastiveLoss(Loss):
    """Contrastive loss (Hadsell, Chopra, LeCun 2006), averaged over pairs.

    With d = |x1 - x2|_2 per pair and s in {0, 1} (1 = similar):
        L = 1/N sum_n 1/2 [s d^2 + (1 - s) max(0, margin - d)^2]
        dL/dx1 = [s - (1 - s) max(0, margin - d) / d] (x1 - x2) / N,   dL/dx2 = -dL/dx1,
    where the dissimilar term contributes 0 at d = 0 (its direction is undefined there).

    Args:
        margin: the positive distance beyond which dissimilar pairs cost nothing (default 1.0).

    Shapes: x1, x2 (N, D) float; similar (N,) in {0, 1} (bool, int or float).
    ``forward(x1, x2, similar) -> float``; ``backward(x1, x2, similar) -> (d_x1, d_x2)``,
    in x1's dtype.

    Example:
        >>> ContrastiveLoss().forward(np.zeros((2, 2)), np.array([[3.0, 4.0], [0, .5]]), [1, 0])
        6.3125
    """

    def __init__(self, margin=1.0):
        self.margin = check_finite(margin, self.name, "margin", low=0.0, low_open=True)

    def _checked(self, x1, x2, similar):
        a = self._matrix(x1, "x1", "(N, D)")
        b = self._prediction(x2, "x2")
        if b.shape != a.shape:
            fail(self.name, f"x2 of shape {a.shape}", b.shape)
        s = self._target(similar, a.dtype, (a.shape[0],), "similar")
        self._in_set(s, (0, 1), "{0, 1}", "similar")
        return a, b.astype(a.dtype, copy=False), s

    n_predictions = 2

    def forward(self, x1, x2, similar):
        return float(self._value(*self._checked(x1, x2, similar)))

    def backward(self, x1, x2, similar):
        return self._gradient(*self._checked(x1, x2, similar))

    def _value(self, a, b, s):
        d = np.sqrt(np.sum(np.square(a - b), axis=1))
        gap = np.maximum(self.margin - d, 0)
        return float(np.mean((s * d * d + (1 - s) * gap * gap) / 2))

    def _gradient(self, a, b, s):
        diff = a - b
        d = np.sqrt(np.sum(np.square(diff), axis=1))
        gap = np.maximum(self.margin - d, 0)
        # gap / d only where d > 0: the divisor is replaced by 1 elsewhere so no
        # 0/0 is ever evaluated, and the term is then dropped.
        pull = np.where(d > 0, gap / np.where(d > 0, d, 1), 0)
        coef = (s - (1 - s) * pull).astype(a.dtype, copy=False) * a.dtype.type(1 / a.shape[0])
        d_x1 = coef[:, None] * diff
        return d_x1, -d_x1

    def get_config(self):
        return {"margin": self.margin}


MSE = MeanSquaredError
MAE = MeanAbsoluteError
