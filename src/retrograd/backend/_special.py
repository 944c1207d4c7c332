"""The error function for the NumPy reference (NumPy has none).

W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev
approximations for the error function", Math. Comp. 23 (1969) 631-638), with
the coefficients of his Fortran routine CALERF (netlib specfun), on three
intervals of y = |x|:

    y <= 0.46875        erf(x)  = x P3(y^2) / Q3(y^2)
    0.46875 < y <= 4    erfc(y) = e^-y^2 P8(y) / Q8(y)
    y > 4               erfc(y) = e^-y^2 / y (1/sqrt(pi) - R(1/y^2) / y^2)

They are accurate to a few units in the last place of float64.  erf and erfc
are evaluated in float64 (any float input) and returned as float64;
erf(-x) = -erf(x) and erfc(-x) = 2 - erfc(x) give the negative half.
"""
import numpy as np

_THRESH = 0.46875
_XSMALL = 1.11e-16   # below this erf(x) = 2x/sqrt(pi) to float64 precision (and y^2 underflows)
# Above this erfc(y) < 2.5e-307, on the way to float64's smallest normal number: it is
# returned as 0, which also keeps every intermediate e^-y^2 a normal number.
_ERFC_ZERO = 26.5
_SQRPI = 5.6418958354775628695e-1   # 1/sqrt(pi)

_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)


def _erf_small(x):
    """erf(x) for |x| <= 0.46875 (first interval)."""
    y = np.abs(x)
    ysq = np.where(y > _XSMALL, y, 0.0) ** 2
    num, den = _A[4] * ysq, ysq
    for a, b in zip(_A[:3], _B[:3]):
        num = (num + a) * ysq
        den = (den + b) * ysq
    return x * (num + _A[3]) / (den + _B[3])


def _erfc_large(y_in):
    """erfc(y) for y > 0.46875 (second and third intervals)."""
    y = np.minimum(y_in, _ERFC_ZERO)
    mid = y <= 4.0
    ym, yt = y[mid], y[~mid]
    result = np.empty_like(y)

    num, den = _C[8] * ym, ym
    for c, d in zip(_C[:7], _D[:7]):
        num = (num + c) * ym
        den = (den + d) * ym
    result[mid] = (num + _C[7]) / (den + _D[7])

    ysq = 1.0 / (yt * yt)
    num, den = _P[5] * ysq, ysq
    for p, q in zip(_P[:4], _Q[:4]):
        num = (num + p) * ysq
        den = (den + q) * ysq
    result[~mid] = (_SQRPI - ysq * (num + _P[4]) / (den + _Q[4])) / yt

    # e^-y^2 = e^-r^2 e^-(y-r)(y+r) with r = y rounded down to 1/16: r^2 is exact, so the
    # rounding error of y^2 is not amplified by the exponential.
    r = np.trunc(y * 16.0) / 16.0
    result = np.exp(-r * r) * np.exp(-(y - r) * (y + r)) * result
    return np.where(y_in > _ERFC_ZERO, 0.0, result)


def erf(x):
    """erf(x) = 2/sqrt(pi) * integral from 0 to x of e^-t^2 dt, element-wise (float64)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.abs(x)
    out = np.empty_like(x)
    small = y <= _THRESH
    out[small] = _erf_small(x[small])
    big = ~small
    # erf = 1 - erfc; nan lands here too and stays nan
    out[big] = np.copysign(1.0 - _erfc_large(y[big]), x[big])
    return out


def erfc(x):
    """erfc(x) = 1 - erf(x), without the cancellation for large x (float64)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.abs(x)
    out = np.empty_like(x)
    small = y <= _THRESH
    out[small] = 1.0 - _erf_small(x[small])
    big = ~small
    tail = _erfc_large(y[big])
    out[big] = np.where(x[big] < 0, 2.0 - tail, tail)
    return out
