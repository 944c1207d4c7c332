"""Function minimisers (API.md, "Function minimisers").

The textbook's chapter on optimisation first minimises plain functions of a
point x before training networks: gradient descent (eq. 6.1), Newton's method
(eq. 6.21), and the optimizers of ``retrograd.optimizers`` run on a function so
that their trajectories can be compared (figures 6.1-6.4: step sizes, convex
versus non-convex functions, momentum, Nesterov's look-ahead).

Every minimiser has ``update_step() -> (point, path)``:

* ``point`` is the last point reached, ``path`` the list of every visited point,
  the initial one first and ``point`` last.  A point has the initial point's
  form: a float (``np.float64``) for a scalar start, a new 1-D float64 array for
  a vector start; ``np.asarray(path)`` stacks them into a (steps + 1, d) array
  for plotting.  The user's functions receive points in that same form.
* The loop runs at most ``epochs`` updates and stops early when the gradient
  norm at the current point is < ``tolerance`` (``tolerance=0`` never stops
  early).  ``converged`` tells whether that happened.
* Divergence is not an error: when an update gives a non-finite point (or the
  gradient is not finite) the loop stops, ``diverged`` becomes True and the
  path ends at the last finite point.  NumPy's overflow / invalid-value
  warnings are silenced inside the loop, so a diverging run is quiet.
* ``values`` holds function(x) for every point of the path when a function is
  known (always for GradientDescent and Newton), else None.
* Each call restarts from the initial point, so repeated calls give the same
  path (``OptimizerPath`` excepted: its optimizer keeps its state).

Test functions, each with ``gradient`` and ``hessian`` methods and its
``minimum`` (None for the saddle): ``rosenbrock``, ``quadratic_bowl``,
``saddle`` (instances of ``Rosenbrock``, ``QuadraticBowl``, ``Saddle``).
"""
import numpy as np

from ._validation import check_finite, check_positive_int, fail

__all__ = ["GradientDescent", "Newton", "OptimizerPath", "optimize", "Rosenbrock",
           "QuadraticBowl", "Saddle", "rosenbrock", "quadratic_bowl", "saddle"]


def _as_point(value, owner, name):
    """``value`` (a real number or a non-empty 1-D sequence of them) as a new
    finite 1-D float64 array, and whether it was a scalar."""
    try:
        arr = np.asarray(value)
    except ValueError:
        fail(owner, f"{name} a number or a 1-D array of numbers", value, TypeError)
    if arr.dtype.kind not in "iuf":
        fail(owner, f"{name} a real number or a 1-D array of real numbers", value, TypeError)
    if arr.ndim > 1 or arr.size == 0:
        fail(owner, f"{name} a number or a non-empty 1-D array, of shape () or (d,)", arr.shape)
    if not np.all(np.isfinite(arr)):
        fail(owner, f"{name} finite", value)
    return arr.astype(np.float64).reshape(-1), arr.ndim == 0


def _check_callable(value, owner, name):
    if not callable(value):
        fail(owner, f"{name} a callable", value, TypeError)
    return value


class _Minimizer:
    """The loop shared by every minimiser: validation of the common arguments,
    the stopping rules, the recording of the path.  A subclass gives
    ``_update(x, grad) -> new x`` (x and grad 1-D float64)."""

    def __init__(self, function, gradient, initial_point, epochs, tolerance, gradient_name):
        self.function = None if function is None else _check_callable(function, self.name,
                                                                        "function")
        self.gradient = _check_callable(gradient, self.name, gradient_name)
        self._gradient_name = gradient_name
        self._start, self._scalar = _as_point(initial_point, self.name, "initial_point")
        self.initial_point = self._public(self._start)
        self.epochs = check_positive_int(epochs, self.name, "epochs")
        self.tolerance = check_finite(tolerance, self.name, "tolerance", low=0.0)
        self.path = None
        self.values = None
        self.converged = False
        self.diverged = False

    @property
    def name(self):
        return type(self).__name__

    @property
    def _shape(self):
        """Shape of points and gradients as the user sees them."""
        return () if self._scalar else self._start.shape

    def _public(self, x):
        return np.float64(x[0]) if self._scalar else x.copy()

    def _evaluate(self, func, x, what, shape):
        """``func(x)`` as a float64 array of ``shape`` (flattened for a scalar point),
        refusing results of another shape."""
        out = np.asarray(func(self._public(x)))
        if out.dtype.kind not in "biuf":
            fail(self.name, f"{what} real-valued", out.dtype, TypeError)
        if out.shape != shape:
            fail(self.name, f"{what} of shape {shape}", out.shape)
        return out.astype(np.float64)

    def update_step(self):
        """Run the minimiser from the initial point; returns ``(point, path)``."""
        x = self._start.copy()
        path = [self._public(x)]
        self.converged = self.diverged = False
        grad_what = f"{self._gradient_name}(x)"
        # A diverging run overflows on purpose (e.g. gradient descent with too
        # large a step): it is reported by ``diverged``, not by a warning per step.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for step in range(self.epochs + 1):
                grad = self._evaluate(self.gradient, x, grad_what, self._shape).reshape(-1)
                if not np.all(np.isfinite(grad)):
                    self.diverged = True
                    break
                if np.linalg.norm(grad) < self.tolerance:
                    self.converged = True
                    break
                if step == self.epochs:
                    break
                x = self._update(x, grad)
                if not np.all(np.isfinite(x)):
                    self.diverged = True
                    break
                path.append(self._public(x))
            self.values = (None if self.function is None
                           else [float(self.function(p)) for p in path])
        self.path = path
        return path[-1], path

    def _update(self, x, grad):
        raise NotImplementedError(f"{self.name} does not implement _update")


class GradientDescent(_Minimizer):
    """Gradient descent on a function of a point (textbook eq. 6.1):

        x_{k+1} = x_k - lr * grad f(x_k)

    (the printed listing adds lr * grad f, which climbs; this follows the
    equation).  It stops when |grad f(x_k)| < tolerance or after ``epochs``
    updates.  On a quadratic with largest curvature L (the largest eigenvalue
    of the Hessian) it converges exactly when 0 < lr < 2 / L; a larger step
    overshoots further at every step and diverges.

    Args:
        function: f(x) -> float, recorded in ``values`` for every point of the path.
        function_prime: grad f(x) -> array of x's shape (a float for a scalar x).
        initial_point: x_0, a real number or a 1-D array of them (finite).
        learning_rate: step size lr > 0 (default 0.001).
        epochs: most updates made (default 100).
        tolerance: gradient norm under which the descent stops (default 1e-6).

    ``update_step() -> (point, path)``; see the module docstring for the path,
    ``values``, ``converged`` and ``diverged``.

    Example:
        >>> gd = GradientDescent(lambda x: x ** 2, lambda x: 2 * x, 5.0, learning_rate=0.1)
        >>> point, path = gd.update_step()   # point close to 0, path[0] == 5.0
    """

    def __init__(self, function, function_prime, initial_point, learning_rate=0.001, epochs=100,
                 tolerance=1e-6):
        _check_callable(function, type(self).__name__, "function")
        super().__init__(function, function_prime, initial_point, epochs, tolerance,
                         "function_prime")
        self.function_prime = self.gradient
        self.learning_rate = check_finite(learning_rate, self.name, "learning_rate", low=0.0,
                                          low_open=True)

    def _update(self, x, grad):
        return x - self.learning_rate * grad


class Newton(_Minimizer):
    """Newton's method (textbook eq. 6.21):

        x_{k+1} = x_k - H(x_k)^-1 grad f(x_k)

    where H is the Hessian of f; the step solves H d = grad f (np.linalg.solve)
    rather than inverting H.  It jumps to the stationary point of the local
    quadratic model, so on a quadratic it lands on the minimum in one step, and
    on a non-convex function it is drawn to saddle points as readily as to
    minima.  It stops when |grad f(x_k)| < tolerance or after ``epochs`` updates.
    A singular or non-finite Hessian raises ValueError.

    Args:
        function: f(x) -> float, recorded in ``values`` for every point of the path.
        gradient: grad f(x) -> array of x's shape (a float for a scalar x).
        hessian: H(x) -> (d, d) array for x of shape (d,) (a float for a scalar x).
        initial_point: x_0, a real number or a 1-D array of them (finite).
        epochs: most updates made (default 100).
        tolerance: gradient norm under which the iteration stops (default 1e-6).

    Example:
        >>> newton = Newton(rosenbrock, rosenbrock.gradient, rosenbrock.hessian, [-1.2, 1.0])
        >>> point, path = newton.update_step()   # point close to (1, 1)
    """

    def __init__(self, function, gradient, hessian, initial_point, epochs=100, tolerance=1e-6):
        _check_callable(function, type(self).__name__, "function")
        super().__init__(function, gradient, initial_point, epochs, tolerance, "gradient")
        self.hessian = _check_callable(hessian, self.name, "hessian")

    def _update(self, x, grad):
        d = x.size
        hess_shape = () if self._scalar else (d, d)
        hess = self._evaluate(self.hessian, x, "hessian(x)", hess_shape).reshape(d, d)
        if not np.all(np.isfinite(hess)):
            fail(self.name, f"a finite Hessian at x={self._public(x).tolist()}",
                 hess.reshape(hess_shape).tolist())
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            fail(self.name, f"a non-singular Hessian at x={self._public(x).tolist()}",
                 hess.reshape(hess_shape).tolist())
        return x - step


class OptimizerPath(_Minimizer):
    """Runs any optimizer of ``retrograd.optimizers`` on a function of a point
    and records its trajectory, so that the optimizers of the textbook can be
    compared on the same function (figures 6.1-6.4).  Each update is

        optimizer.step([[x]], [[grad f(x)]])

    on one float64 array x, so the update is exactly the optimizer's own (for
    SGD, x <- x - lr grad f(x): GradientDescent's path, up to rounding).  It stops
    when |grad f(x)| < tolerance or after ``epochs`` updates.  The optimizer
    keeps its state (step count, velocities, moments) between calls of
    ``update_step``: give each run a fresh optimizer.

    Args:
        function_prime: grad f(x) -> array of x's shape (a float for a scalar x).
        initial_point: x_0, a real number or a 1-D array of them (finite).
        optimizer: an object with ``step(params, grads)``, e.g. ``optimizers.Adam()``.
        epochs: most updates made (default 100).
        tolerance: gradient norm under which the run stops (default 1e-6).
        function: optional f(x) -> float, recorded in ``values``.

    Example:
        >>> run = OptimizerPath(quadratic_bowl.gradient, [1.0, 1.0], optimizers.Adam(0.1))
        >>> point, path = run.update_step()
    """

    def __init__(self, function_prime, initial_point, optimizer, epochs=100, tolerance=1e-6,
                 function=None):
        super().__init__(function, function_prime, initial_point, epochs, tolerance,
                         "function_prime")
        self.function_prime = self.gradient
        if not callable(getattr(optimizer, "step", None)):
            fail(self.name, "optimizer an object with a step(params, grads) method", optimizer,
                 TypeError)
        self.optimizer = optimizer

    def _update(self, x, grad):
        self.optimizer.step([[x]], [[grad]])
        return x


def optimize(function_prime, initial_point, optimizer, epochs=100, tolerance=1e-6,
             function=None):
    """Minimise a function with ``optimizer``; returns ``(point, path)``.

    The short form of ``OptimizerPath(...).update_step()`` (see there; errors
    name OptimizerPath).

    Example:
        >>> point, path = optimize(quadratic_bowl.gradient, [1.0, 1.0],
        ...                        optimizers.Momentum(0.02), epochs=500)
    """
    return OptimizerPath(function_prime, initial_point, optimizer, epochs, tolerance,
                         function).update_step()


# ---- test functions ------------------------------------------------------------------------
class _Objective:
    """A function of a point of shape (dim,), with its gradient and Hessian."""

    dim = 2
    minimum = None

    @property
    def name(self):
        return type(self).__name__

    def _point(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.dim,):
            fail(self.name, f"a point of shape ({self.dim},)", x.shape)
        return x


class Rosenbrock(_Objective):
    """Rosenbrock's banana-shaped valley, a classic hard case for gradient descent:

        f(x, y)  = (a - x)^2 + b (y - x^2)^2
        grad f   = (-2 (a - x) - 4 b x (y - x^2),  2 b (y - x^2))
        H        = [[2 - 4 b (y - x^2) + 8 b x^2,  -4 b x], [-4 b x,  2 b]]

    Minimum f = 0 at (a, a^2).  Points of shape (2,).

    Example:
        >>> f = Rosenbrock()
        >>> f([1.0, 1.0])
        0.0
    """

    def __init__(self, a=1.0, b=100.0):
        self.a = check_finite(a, self.name, "a")
        self.b = check_finite(b, self.name, "b", low=0.0, low_open=True)
        self.minimum = np.array([self.a, self.a ** 2])

    def __call__(self, x):
        x, y = self._point(x)
        return float((self.a - x) ** 2 + self.b * (y - x * x) ** 2)

    def gradient(self, x):
        """grad f = (-2 (a - x) - 4 b x (y - x^2), 2 b (y - x^2))."""
        x, y = self._point(x)
        return np.array([-2.0 * (self.a - x) - 4.0 * self.b * x * (y - x * x),
                         2.0 * self.b * (y - x * x)])

    def hessian(self, x):
        """[[2 - 4 b (y - x^2) + 8 b x^2, -4 b x], [-4 b x, 2 b]]."""
        x, y = self._point(x)
        off = -4.0 * self.b * x
        return np.array([[2.0 - 4.0 * self.b * (y - x * x) + 8.0 * self.b * x * x, off],
                         [off, 2.0 * self.b]])


class QuadraticBowl(_Objective):
    """A convex quadratic bowl centred on c:

        f(x)    = 1/2 (x - c)^T A (x - c)
        grad f  = A (x - c)
        H       = A

    A symmetric positive definite (d, d).  The default A = diag(1, 10) is an
    elongated bowl on which gradient descent zig-zags across the steep axis;
    ``lipschitz`` (the largest eigenvalue L of A) bounds the stable step sizes:
    gradient descent converges for lr < 2 / L and diverges above.

    Example:
        >>> bowl = QuadraticBowl(matrix=[[2.0, 0.0], [0.0, 4.0]], center=[1.0, -1.0])
        >>> bowl([1.0, -1.0]), bowl.lipschitz   # (0.0, 4.0)
    """

    def __init__(self, matrix=((1.0, 0.0), (0.0, 10.0)), center=None):
        a = np.asarray(matrix, dtype=np.float64)
        if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
            fail(self.name, "matrix of shape (d, d)", a.shape)
        if not np.all(np.isfinite(a)) or not np.allclose(a, a.T):
            fail(self.name, "matrix finite and symmetric", a.tolist())
        eigenvalues = np.linalg.eigvalsh(a)
        if eigenvalues[0] <= 0:
            fail(self.name, "matrix positive definite (eigenvalues > 0)", eigenvalues.tolist())
        self.dim = a.shape[0]
        c = np.zeros(self.dim) if center is None else np.asarray(center, dtype=np.float64)
        if c.shape != (self.dim,) or not np.all(np.isfinite(c)):
            fail(self.name, f"center a finite array of shape ({self.dim},)",
                 c.tolist() if c.ndim else float(c))
        self.matrix = a
        self.center = c
        self.minimum = c.copy()
        self.lipschitz = float(eigenvalues[-1])

    def __call__(self, x):
        r = self._point(x) - self.center
        return float(0.5 * r @ self.matrix @ r)

    def gradient(self, x):
        """grad f = A (x - c)."""
        return self.matrix @ (self._point(x) - self.center)

    def hessian(self, x):
        """The constant Hessian A."""
        self._point(x)
        return self.matrix.copy()


class Saddle(_Objective):
    """The saddle f(x, y) = x^2 - y^2: the simplest non-convex function.

        grad f = (2 x, -2 y),   H = [[2, 0], [0, -2]]

    (0, 0) is a stationary point but no minimum (f is unbounded below along
    y): gradient descent slides away along y unless it starts exactly on the
    x axis, while Newton's method jumps straight to the saddle point.

    Example:
        >>> saddle = Saddle()
        >>> saddle([1.0, 2.0]), saddle.gradient([1.0, 2.0])   # (-3.0, array([ 2., -4.]))
    """

    def __call__(self, x):
        x, y = self._point(x)
        return float(x * x - y * y)

    def gradient(self, x):
        """grad f = (2 x, -2 y)."""
        x, y = self._point(x)
        return np.array([2.0 * x, -2.0 * y])

    def hessian(self, x):
        """diag(2, -2): one positive and one negative curvature, a saddle."""
        self._point(x)
        return np.diag([2.0, -2.0])


rosenbrock = Rosenbrock()
quadratic_bowl = QuadraticBowl()
saddle = Saddle()
