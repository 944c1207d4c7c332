"""Function minimisers: gradient descent (eq. 6.1), Newton (eq. 6.21), optimizers
driving a function (figures 6.1-6.4), the test functions, stopping rules, validation."""
import warnings

import numpy as np
import pytest

import retrograd
from retrograd import minimize, optimizers
from retrograd.minimize import (GradientDescent, Newton, OptimizerPath, QuadraticBowl,
                                Rosenbrock, optimize, quadratic_bowl, rosenbrock,
                                saddle)

# An elongated bowl off the origin: curvatures 1 and 10, so L = 10 and gradient
# descent is stable exactly for lr < 2 / L = 0.2.
BOWL = QuadraticBowl(center=[1.0, -2.0])
START = [-1.0, 1.0]

# Settings under which each of the eleven optimizers settles on BOWL's minimum
# from START; the adaptive ones take steps of about lr near the minimum, hence
# their smaller learning rates.  Weight decay is off: it moves the minimum.
OPTIMIZER_SETTINGS = {
    "SGD": {"learning_rate": 0.1},
    "Momentum": {"learning_rate": 0.02, "momentum": 0.9},
    "NesterovAcceleratedGradient": {"learning_rate": 0.02, "momentum": 0.9},
    "AdaGrad": {"learning_rate": 0.5},
    "RMSProp": {"learning_rate": 0.01},
    "Adam": {"learning_rate": 0.05},
    "AdaMax": {"learning_rate": 0.05},
    "Nadam": {"learning_rate": 0.05},
    "AdamW": {"learning_rate": 0.05, "weight_decay": 0.0},
    "RAdam": {"learning_rate": 0.05},
    "Lion": {"learning_rate": 0.01},
}


def _optimizer(name, **kwargs):
    """An instance of retrograd.optimizers.<name>, or a skip while it is not written yet."""
    cls = getattr(optimizers, name, None)
    if cls is None:
        pytest.skip(f"retrograd.optimizers.{name} does not exist yet")
    return cls(**kwargs)


def _square(x):
    return x * x


def _square_prime(x):
    return 2 * x


# ---- gradient descent ----------------------------------------------------------------------
def test_gradient_descent_follows_equation_6_1_exactly():
    gd = GradientDescent(BOWL, BOWL.gradient, START, learning_rate=0.05, epochs=5, tolerance=0)
    point, path = gd.update_step()
    x = np.array(START)
    assert len(path) == 6
    np.testing.assert_array_equal(path[0], x)
    for visited in path[1:]:
        x = x - 0.05 * BOWL.gradient(x)
        np.testing.assert_array_equal(visited, x)
    assert point is path[-1]
    assert gd.values == [BOWL(p) for p in path]


def test_gradient_descent_converges_on_the_bowl():
    gd = GradientDescent(BOWL, BOWL.gradient, START, learning_rate=0.1, epochs=1000)
    point, path = gd.update_step()
    assert gd.converged and not gd.diverged
    assert np.linalg.norm(BOWL.gradient(point)) < 1e-6
    assert np.linalg.norm(BOWL.gradient(path[-2])) >= 1e-6
    np.testing.assert_allclose(point, BOWL.minimum, atol=1e-6)
    # Below 2 / L each step lowers f (descent lemma).
    assert np.all(np.diff(gd.values) < 0)


def test_gradient_descent_on_a_scalar_function():
    point, path = GradientDescent(_square, _square_prime, 5.0, learning_rate=0.1,
                                  epochs=500).update_step()
    assert isinstance(point, float) and all(isinstance(p, float) for p in path)
    assert path[0] == 5.0 and path[1] == pytest.approx(4.0)
    assert abs(point) < 1e-6


def test_too_large_a_step_diverges_growing_at_every_step():
    lr = 2.5 / BOWL.lipschitz
    gd = GradientDescent(BOWL, BOWL.gradient, START, learning_rate=lr, epochs=30)
    point, path = gd.update_step()
    distances = [np.linalg.norm(p - BOWL.minimum) for p in path]
    assert len(path) == 31 and not gd.converged
    assert np.all(np.diff(distances) > 0)
    assert distances[-1] > 1e4


def test_a_step_just_under_2_over_l_still_converges():
    lr = 1.9 / BOWL.lipschitz
    point, _ = GradientDescent(BOWL, BOWL.gradient, START, learning_rate=lr,
                               epochs=2000).update_step()
    np.testing.assert_allclose(point, BOWL.minimum, atol=1e-6)


def test_a_smaller_step_converges_more_slowly():
    steps = []
    for lr in (0.1, 0.03, 0.01):
        gd = GradientDescent(BOWL, BOWL.gradient, START, learning_rate=lr, epochs=5000)
        point, path = gd.update_step()
        assert gd.converged
        steps.append(len(path))
    assert steps[0] < steps[1] < steps[2]


def test_divergence_to_infinity_stops_quietly_with_the_finite_path():
    gd = GradientDescent(BOWL, BOWL.gradient, START, learning_rate=1e100, epochs=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        point, path = gd.update_step()
    assert gd.diverged and not gd.converged
    assert 2 <= len(path) < 10
    assert all(np.all(np.isfinite(p)) for p in path)
    assert point is path[-1]


def test_tolerance_stops_early():
    loose = GradientDescent(BOWL, BOWL.gradient, START, learning_rate=0.05, epochs=1000,
                            tolerance=1e-2)
    tight = GradientDescent(BOWL, BOWL.gradient, START, learning_rate=0.05, epochs=1000,
                            tolerance=1e-8)
    _, loose_path = loose.update_step()
    _, tight_path = tight.update_step()
    assert loose.converged and tight.converged
    assert len(loose_path) < len(tight_path)
    # The first point under the tolerance ends the path.
    assert np.linalg.norm(BOWL.gradient(loose_path[-1])) < 1e-2
    assert np.linalg.norm(BOWL.gradient(loose_path[-2])) >= 1e-2
    np.testing.assert_array_equal(loose_path, tight_path[:len(loose_path)])


def test_a_start_at_the_minimum_stops_at_once_and_zero_tolerance_runs_every_epoch():
    point, path = GradientDescent(BOWL, BOWL.gradient, BOWL.minimum).update_step()
    assert len(path) == 1
    np.testing.assert_array_equal(point, BOWL.minimum)
    _, path = GradientDescent(BOWL, BOWL.gradient, START, learning_rate=0.1, epochs=300,
                              tolerance=0).update_step()
    assert len(path) == 301


def test_update_step_restarts_and_does_not_touch_the_initial_point():
    start = np.array(START)
    gd = GradientDescent(BOWL, BOWL.gradient, start, learning_rate=0.05, epochs=20)
    _, first = gd.update_step()
    _, second = gd.update_step()
    np.testing.assert_array_equal(start, START)
    np.testing.assert_array_equal(first, second)
    assert first[0] is not start and first[0].dtype == np.float64


def test_gradient_descent_escapes_a_saddle_along_the_descent_direction():
    gd = GradientDescent(saddle, saddle.gradient, [1.0, 1e-3], learning_rate=0.1, epochs=50,
                         tolerance=0)
    point, path = gd.update_step()
    ys = np.abs([p[1] for p in path])
    assert abs(point[0]) < 1e-4
    assert np.all(np.diff(ys) > 0) and ys[-1] > 1.0
    assert np.all(np.diff(gd.values) < 0)


# ---- Newton --------------------------------------------------------------------------------
@pytest.mark.parametrize("bowl", [BOWL, QuadraticBowl([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5],
                                                       [0.0, 0.5, 1.0]], [0.5, -1.0, 2.0])],
                         ids=["diagonal", "3d"])
def test_newton_lands_on_a_quadratics_minimum_in_one_step(bowl):
    start = np.linspace(-1.0, 1.0, bowl.dim)
    newton = Newton(bowl, bowl.gradient, bowl.hessian, start)
    point, path = newton.update_step()
    assert len(path) == 2 and newton.converged
    np.testing.assert_allclose(point, bowl.minimum, atol=1e-12)
    np.testing.assert_array_equal(path[0], start)


def test_newton_reaches_the_rosenbrock_minimum():
    newton = Newton(rosenbrock, rosenbrock.gradient, rosenbrock.hessian, [-1.2, 1.0])
    point, path = newton.update_step()
    assert newton.converged and len(path) < 20
    np.testing.assert_allclose(point, [1.0, 1.0], atol=1e-8)
    assert newton.values[-1] < 1e-15


def test_gradient_descent_crawls_along_the_rosenbrock_valley():
    point, _ = GradientDescent(rosenbrock, rosenbrock.gradient, [-1.2, 1.0],
                               learning_rate=1e-3, epochs=200).update_step()
    assert np.linalg.norm(point - rosenbrock.minimum) > 0.1


def test_newton_on_a_scalar_function():
    # f(x) = x^4: f' = 4 x^3, f'' = 12 x^2; each Newton step multiplies x by 2/3.
    newton = Newton(lambda x: x ** 4, lambda x: 4 * x ** 3, lambda x: 12 * x ** 2, 3.0, epochs=5,
                    tolerance=0)
    point, path = newton.update_step()
    np.testing.assert_allclose(path, 3.0 * (2 / 3) ** np.arange(6), rtol=1e-12)
    assert isinstance(point, float)


def test_newton_jumps_onto_the_saddle_point():
    newton = Newton(saddle, saddle.gradient, saddle.hessian, [1.0, 2.0])
    point, path = newton.update_step()
    assert len(path) == 2 and newton.converged
    np.testing.assert_allclose(point, [0.0, 0.0], atol=1e-15)


def test_newton_refuses_a_singular_hessian():
    # f(x, y) = x^2 has Hessian diag(2, 0).
    newton = Newton(lambda p: p[0] ** 2, lambda p: np.array([2 * p[0], 0.0]),
                    lambda p: np.diag([2.0, 0.0]), [1.0, 3.0])
    message = (r"^Newton: expected a non-singular Hessian at x=\[1\.0, 3\.0\], "
               r"got \[\[2\.0, 0\.0\], \[0\.0, 0\.0\]\]$")
    with pytest.raises(ValueError, match=message):
        newton.update_step()


def test_newton_refuses_a_non_finite_hessian():
    newton = Newton(_square, _square_prime, lambda x: np.nan, 2.0)
    with pytest.raises(ValueError, match=r"^Newton: expected a finite Hessian at x=2\.0, got nan$"):
        newton.update_step()


def test_newton_refuses_a_hessian_of_the_wrong_shape():
    newton = Newton(BOWL, BOWL.gradient, lambda x: np.eye(3), START)
    with pytest.raises(ValueError, match=r"^Newton: expected hessian\(x\) of shape \(2, 2\), "
                                         r"got \(3, 3\)$"):
        newton.update_step()


# ---- optimizers driving a function ---------------------------------------------------------
@pytest.mark.parametrize("name", sorted(OPTIMIZER_SETTINGS))
def test_every_optimizer_reaches_the_bowls_minimum(name, backend):
    opt = _optimizer(name, **OPTIMIZER_SETTINGS[name])
    run = OptimizerPath(BOWL.gradient, START, opt, epochs=2000, function=BOWL)
    point, path = run.update_step()
    assert not run.diverged
    np.testing.assert_allclose(point, BOWL.minimum, atol=1e-4)
    np.testing.assert_array_equal(path[0], START)
    assert point is path[-1] and len(path) == len(run.values)
    assert run.values[-1] < 1e-7 < run.values[0]


def test_sgd_through_optimize_retraces_gradient_descent():
    _, expected = GradientDescent(BOWL, BOWL.gradient, START, learning_rate=0.05,
                                  epochs=300).update_step()
    point, path = optimize(BOWL.gradient, START, optimizers.SGD(0.05), epochs=300)
    # The kernels may fuse the multiply-add: the same path up to rounding.
    np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-15)
    assert point is path[-1]


def test_momentum_path_records_the_velocity_update():
    opt = _optimizer("Momentum", learning_rate=0.02, momentum=0.9)
    _, path = optimize(BOWL.gradient, START, opt, epochs=10, tolerance=0)
    x, v = np.array(START), np.zeros(2)
    for visited in path[1:]:
        v = 0.9 * v - 0.02 * BOWL.gradient(x)
        x = x + v
        np.testing.assert_allclose(visited, x, rtol=1e-12, atol=1e-15)


def test_momentum_beats_plain_descent_and_nesterov_beats_momentum():
    # Figures 6.3-6.4: with the same small step, momentum crosses the shallow
    # axis of the bowl faster, and Nesterov's look-ahead damps its overshoot.
    _, plain = optimize(BOWL.gradient, START, optimizers.SGD(0.02), epochs=5000)
    _, heavy = optimize(BOWL.gradient, START, _optimizer("Momentum", learning_rate=0.02,
                                                         momentum=0.9), epochs=5000)
    _, nesterov = optimize(BOWL.gradient, START,
                           _optimizer("NesterovAcceleratedGradient", learning_rate=0.02,
                                      momentum=0.9), epochs=5000)
    assert len(nesterov) < len(heavy) < len(plain) < 5001


def test_optimizer_divergence_stops_quietly():
    gd = OptimizerPath(BOWL.gradient, START, optimizers.SGD(1e100), epochs=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        point, path = gd.update_step()
    assert gd.diverged and all(np.all(np.isfinite(p)) for p in path)
    assert gd.values is None


def test_optimize_on_a_scalar_function():
    point, path = optimize(_square_prime, 4.0, optimizers.SGD(0.25), epochs=100)
    assert isinstance(point, float) and path[:3] == [4.0, 2.0, 1.0]


# ---- test functions ------------------------------------------------------------------------
@pytest.mark.parametrize("func", [rosenbrock, Rosenbrock(a=2.0, b=10.0), quadratic_bowl, BOWL,
                                  saddle], ids=["rosenbrock", "rosenbrock_a2", "bowl",
                                                "bowl_shifted", "saddle"])
def test_gradients_and_hessians_match_central_differences(func, numeric_grad):
    x = np.array([-0.7, 1.3])
    np.testing.assert_allclose(func.gradient(x), numeric_grad(func, x.copy()), rtol=1e-6,
                               atol=1e-6)
    for i in range(2):
        column = numeric_grad(lambda p: func.gradient(p)[i], x.copy())
        np.testing.assert_allclose(func.hessian(x)[i], column, rtol=1e-6, atol=1e-6)


def test_test_function_minima():
    for func in (rosenbrock, Rosenbrock(a=2.0), quadratic_bowl, BOWL):
        assert func(func.minimum) == 0.0
        np.testing.assert_array_equal(func.gradient(func.minimum), [0.0, 0.0])
    assert saddle.minimum is None and saddle([0.0, 1.0]) < saddle([0.0, 0.0]) < saddle([1.0, 0.0])
    assert quadratic_bowl.lipschitz == 10.0


def test_the_package_exports_the_module():
    assert retrograd.minimize is minimize and "minimize" in retrograd.__all__


# ---- validation ----------------------------------------------------------------------------
def _gd(**kwargs):
    args = {"function": BOWL, "function_prime": BOWL.gradient, "initial_point": START}
    return GradientDescent(**{**args, **kwargs})


BAD_ARGUMENTS = [
    (lambda: _gd(learning_rate=0), ValueError,
     r"^GradientDescent: expected learning_rate > 0\.0, got 0\.0$"),
    (lambda: _gd(learning_rate=-0.1), ValueError, r"expected learning_rate > 0\.0, got -0\.1"),
    (lambda: _gd(learning_rate=float("inf")), ValueError,
     r"expected learning_rate a finite number, got inf"),
    (lambda: _gd(learning_rate="0.1"), TypeError,
     r"expected learning_rate a finite number, got '0\.1'"),
    (lambda: _gd(epochs=0), ValueError, r"expected epochs a positive integer, got 0"),
    (lambda: _gd(epochs=2.5), ValueError, r"expected epochs a positive integer, got 2\.5"),
    (lambda: _gd(epochs=True), ValueError, r"expected epochs a positive integer, got True"),
    (lambda: _gd(tolerance=-1e-3), ValueError, r"expected tolerance >= 0\.0, got -0\.001"),
    (lambda: _gd(tolerance=float("nan")), ValueError, r"expected tolerance a finite number"),
    (lambda: _gd(initial_point=[0.0, np.inf]), ValueError,
     r"^GradientDescent: expected initial_point finite, got \[0\.0, inf\]$"),
    (lambda: _gd(initial_point=[[1.0, 2.0]]), ValueError,
     r"expected initial_point a number or a non-empty 1-D array, of shape \(\) or \(d,\), "
     r"got \(1, 2\)$"),
    (lambda: _gd(initial_point=[]), ValueError, r"non-empty 1-D array.*got \(0,\)$"),
    (lambda: _gd(initial_point="1.0"), TypeError,
     r"expected initial_point a real number or a 1-D array of real numbers, got '1\.0'"),
    (lambda: _gd(initial_point=[1.0, [2.0]]), TypeError,
     r"expected initial_point a number or a 1-D array of numbers"),
    (lambda: _gd(initial_point=[True, False]), TypeError, r"expected initial_point a real"),
    (lambda: _gd(function=None), TypeError,
     r"^GradientDescent: expected function a callable, got None$"),
    (lambda: _gd(function_prime=[1.0]), TypeError, r"expected function_prime a callable"),
    (lambda: Newton(BOWL, BOWL.gradient, "H", START), TypeError,
     r"^Newton: expected hessian a callable, got 'H'$"),
    (lambda: Newton(BOWL, BOWL.gradient, BOWL.hessian, START, epochs=-1), ValueError,
     r"^Newton: expected epochs a positive integer, got -1$"),
    (lambda: OptimizerPath(BOWL.gradient, START, "adam"), TypeError,
     r"^OptimizerPath: expected optimizer an object with a step\(params, grads\) method, "
     r"got 'adam'$"),
    (lambda: optimize(BOWL.gradient, START, optimizers.SGD(), function=1.0), TypeError,
     r"^OptimizerPath: expected function a callable, got 1\.0$"),
    (lambda: _gd(function_prime=lambda x: np.zeros(3)).update_step(), ValueError,
     r"^GradientDescent: expected function_prime\(x\) of shape \(2,\), got \(3,\)$"),
    (lambda: GradientDescent(_square, lambda x: np.array([x]), 1.0).update_step(), ValueError,
     r"expected function_prime\(x\) of shape \(\), got \(1,\)$"),
    (lambda: _gd(function_prime=lambda x: x.astype(complex)).update_step(), TypeError,
     r"expected function_prime\(x\) real-valued, got dtype\('complex128'\)"),
    (lambda: optimize(lambda x: x[:1], START, optimizers.SGD()), ValueError,
     r"^OptimizerPath: expected function_prime\(x\) of shape \(2,\), got \(1,\)$"),
    (lambda: rosenbrock([1.0, 2.0, 3.0]), ValueError,
     r"^Rosenbrock: expected a point of shape \(2,\), got \(3,\)$"),
    (lambda: Rosenbrock(b=0.0), ValueError, r"^Rosenbrock: expected b > 0\.0, got 0\.0$"),
    (lambda: saddle.gradient(1.0), ValueError, r"^Saddle: expected a point of shape \(2,\)"),
    (lambda: QuadraticBowl([[1.0, 0.0], [0.0, -1.0]]), ValueError,
     r"^QuadraticBowl: expected matrix positive definite \(eigenvalues > 0\), "
     r"got \[-1\.0, 1\.0\]$"),
    (lambda: QuadraticBowl([[1.0, 2.0], [0.0, 1.0]]), ValueError,
     r"expected matrix finite and symmetric"),
    (lambda: QuadraticBowl([1.0, 2.0]), ValueError,
     r"expected matrix of shape \(d, d\), got \(2,\)$"),
    (lambda: QuadraticBowl(center=[1.0]), ValueError,
     r"^QuadraticBowl: expected center a finite array of shape \(2,\), got \[1\.0\]$"),
]


@pytest.mark.parametrize("make, error, message", BAD_ARGUMENTS,
                         ids=[str(i) for i in range(len(BAD_ARGUMENTS))])
def test_bad_arguments_are_refused_with_a_clear_message(make, error, message):
    with pytest.raises(error, match=message):
        make()
