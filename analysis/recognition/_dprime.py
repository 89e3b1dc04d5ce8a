"""Signal-detection sensitivity: yes/no d', m-alternative forced-choice d', count corrections."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["CORRECTIONS", "corrected_rate", "dprime", "dprime_mafc", "proportion_correct_mafc"]

#: How rates of 0 and 1 are kept finite (see :func:`corrected_rate`).
CORRECTIONS = ("loglinear", "1/2n", "none")

# The m-AFC integral E[Phi(Z + d')^(m - 1)], Z ~ N(0, 1), by the trapezoid rule on
# [-12, 12] (step 0.05): the integrand is smooth and its weight decays as exp(-z^2 / 2),
# so the rule converges geometrically (checked against adaptive quadrature to 1e-10 in
# the tests); the mass beyond 12 is below 1e-32.
_Z = np.linspace(-12.0, 12.0, 481)
_W = np.exp(-0.5 * _Z**2) * (_Z[1] - _Z[0]) / math.sqrt(2.0 * math.pi)
# d' beyond +-_D_MAX cannot be told apart in double precision for any m <= 10^6.
_D_MAX = 40.0
# Bisection to 80 / 2^26 = 1.2e-6, then Newton steps, each squaring the error.
_BISECTIONS = 26
_NEWTON_STEPS = 3


def _check_correction(correction: Any) -> str:
    if correction not in CORRECTIONS:
        raise ValueError(
            "Invalid value for the 'correction' parameter. Allowed values are "
            f"{', '.join(map(repr, CORRECTIONS))}, but got {correction!r} instead."
        )
    return str(correction)


def _counts(k: ArrayLike, n: ArrayLike, k_name: str, n_name: str) -> tuple[NDArray, NDArray]:
    count = np.asarray(k, dtype=np.float64)
    total = np.asarray(n, dtype=np.float64)
    count, total = np.broadcast_arrays(count, total)
    if not (np.isfinite(total) & (total > 0)).all():
        raise ValueError(f"The '{n_name}' parameter must be finite and > 0 (a number of trials).")
    bad = ~((count >= 0) & (count <= total))
    if bad.any():
        raise ValueError(
            f"The '{k_name}' parameter must lie in [0, {n_name}]; got {count[bad][:5]!r} "
            f"against {n_name} {total[bad][:5]!r}."
        )
    return count, total


def corrected_rate(
    count: ArrayLike, total: ArrayLike, *, correction: str = "loglinear"
) -> NDArray[np.float64]:
    """A rate ``count / total`` kept away from 0 and 1, so that its z-score is finite.

    Parameters
    ----------
    count : array_like
        Hits, false alarms or correct trials, in ``[0, total]``.
    total : array_like
        Trials (> 0), broadcastable with ``count``.
    correction : {"loglinear", "1/2n", "none"}
        - ``"loglinear"`` (default): ``(count + 0.5) / (total + 1)`` for every
          cell, whether extreme or not (Hautus 1995, Behav. Res. Methods 27:46-51;
          the log-linear rule of Snodgrass & Corwin 1988).
        - ``"1/2n"``: ``count / total``, with 0 replaced by ``1 / (2 total)`` and 1 by
          ``1 - 1 / (2 total)`` (Macmillan & Kaplan 1985).
        - ``"none"``: ``count / total``; 0 and 1 stay, and give infinite z-scores.

    Returns
    -------
    ndarray of float64
        The rates, of the broadcast shape.
    """
    return _rate(count, total, correction, "count", "total")


def _rate(count: ArrayLike, total: ArrayLike, correction: str, k_name: str, n_name: str) -> Any:
    correction = _check_correction(correction)
    k, n = _counts(count, total, k_name, n_name)
    if correction == "loglinear":
        return np.asarray((k + 0.5) / (n + 1.0))
    rate = k / n
    if correction == "1/2n":
        rate = np.clip(rate, 0.5 / n, 1.0 - 0.5 / n)
    return np.asarray(rate)


def dprime(
    hits: ArrayLike,
    n_signal: ArrayLike,
    false_alarms: ArrayLike,
    n_noise: ArrayLike,
    *,
    correction: str = "loglinear",
) -> NDArray[np.float64] | float:
    """Yes/no sensitivity ``d' = z(H) - z(F)`` from counts (equal-variance Gaussian model).

    Parameters
    ----------
    hits : array_like
        "Yes" answers on signal trials, in ``[0, n_signal]``.
    n_signal : array_like
        Signal trials (> 0).
    false_alarms : array_like
        "Yes" answers on noise trials, in ``[0, n_noise]``.
    n_noise : array_like
        Noise trials (> 0).
    correction : {"loglinear", "1/2n", "none"}
        How the rates are formed (:func:`corrected_rate`): the default adds 0.5
        to each count and 1 to each total (Hautus 1995). With ``"none"``, a rate
        of 1 or 0 gives ``d' = +-inf``.

    Returns
    -------
    float or ndarray of float64
        ``d'`` of the broadcast shape of the inputs (a float for scalars).

    Examples
    --------
    20 hits of 25 and 5 false alarms of 25, log-linear: ``H = 20.5 / 26``,
    ``F = 5.5 / 26 = 1 - H``, so ``d' = 2 z(0.78846) = 2 x 0.80109 = 1.6022``.
    """
    h = _rate(hits, n_signal, correction, "hits", "n_signal")
    f = _rate(false_alarms, n_noise, correction, "false_alarms", "n_noise")
    from scipy.special import ndtri

    with np.errstate(divide="ignore", invalid="ignore"):
        d = ndtri(h) - ndtri(f)
    return float(d) if np.ndim(d) == 0 else np.asarray(d, dtype=np.float64)


def _check_m(m: ArrayLike) -> NDArray[np.float64]:
    values = np.asarray(m)
    if not (np.issubdtype(values.dtype, np.number) and not np.issubdtype(values.dtype, np.bool_)):
        raise ValueError(f"Invalid value for the 'm' parameter: expected integers >= 2, got {m!r}.")
    as_float = values.astype(np.float64)
    if (
        not (np.isfinite(as_float).all() and (as_float >= 2).all())
        or (as_float != np.round(as_float)).any()
    ):
        raise ValueError(
            "Invalid value for the 'm' parameter: expected the number of alternatives, an "
            f"integer >= 2, but got {m!r} instead."
        )
    return as_float


def _pc(d: NDArray[np.float64], m: NDArray[np.float64]) -> NDArray[np.float64]:
    from scipy.special import ndtr

    inner = ndtr(d[..., None] + _Z) ** (m[..., None] - 1.0)
    return np.asarray(inner @ _W)


def _pc_slope(d: NDArray[np.float64], m: NDArray[np.float64]) -> NDArray[np.float64]:
    """dPc/dd' = (m - 1) E[Phi(Z + d')^(m - 2) phi(Z + d')]."""
    from scipy.special import ndtr

    x = d[..., None] + _Z
    density = np.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)
    inner = ndtr(x) ** (m[..., None] - 2.0) * density
    return np.asarray((m - 1.0) * (inner @ _W))


def _solve(p: NDArray[np.float64], m: NDArray[np.float64]) -> NDArray[np.float64]:
    """d' with Pc(d', m) = p, for 1-D arrays of p in (0, 1)."""
    low, high = np.full(p.shape, -_D_MAX), np.full(p.shape, _D_MAX)
    for _ in range(_BISECTIONS):
        mid = 0.5 * (low + high)
        above = _pc(mid, m) > p
        high = np.where(above, mid, high)
        low = np.where(above, low, mid)
    d = 0.5 * (low + high)
    for _ in range(_NEWTON_STEPS):
        slope = _pc_slope(d, m)
        step = np.divide(_pc(d, m) - p, slope, out=np.zeros_like(d), where=slope > 1e-300)
        # Out in the tails the slope underflows; there the bisection's answer stands.
        d = np.clip(d - step, low, high)
    return d


def proportion_correct_mafc(d_prime: ArrayLike, m: ArrayLike) -> NDArray[np.float64] | float:
    """Proportion correct of an unbiased observer in m-alternative forced choice.

    ``Pc(d', m) = integral of phi(x - d') Phi(x)^(m - 1) dx`` (Green & Swets 1966;
    Hacker & Ratcliff 1979): the signal alternative's observation exceeds the
    ``m - 1`` noise ones. For ``m = 2`` this is ``Phi(d' / sqrt(2))``.

    Parameters
    ----------
    d_prime : array_like
        Sensitivity; ``+-inf`` give 1 and 0.
    m : int or array_like of int
        Number of alternatives (>= 2), broadcastable with ``d_prime``.

    Returns
    -------
    float or ndarray of float64
        ``Pc`` in ``[0, 1]``, of the broadcast shape; ``1 / m`` at ``d' = 0``.
    """
    alternatives = _check_m(m)
    d = np.asarray(d_prime, dtype=np.float64)
    d, alternatives = np.broadcast_arrays(d, alternatives)
    finite = np.clip(np.nan_to_num(d, nan=0.0), -_D_MAX, _D_MAX)
    pc = _pc(finite, alternatives)
    pc = np.where(np.isnan(d), np.nan, pc)
    pc = np.where(d == np.inf, 1.0, np.where(d == -np.inf, 0.0, pc))
    return float(pc) if pc.ndim == 0 else np.asarray(pc)


def dprime_mafc(proportion_correct: ArrayLike, m: ArrayLike) -> NDArray[np.float64] | float:
    """Sensitivity ``d'`` from the proportion correct in m-alternative forced choice.

    The inverse of :func:`proportion_correct_mafc` (unbiased observer, equal-variance
    Gaussian model), solved by bisection to about 1e-15; for ``m = 2`` it is
    ``sqrt(2) z(Pc)`` exactly.

    Parameters
    ----------
    proportion_correct : array_like
        Proportion correct in ``[0, 1]``. Form it from counts with
        :func:`corrected_rate` (the log-linear ``(k + 0.5) / (n + 1)`` by
        default) so that a perfect score gives a finite ``d'``.
    m : int or array_like of int
        Number of alternatives (>= 2), broadcastable with ``proportion_correct``.

    Returns
    -------
    float or ndarray of float64
        ``d'`` of the broadcast shape. Chance (``Pc = 1 / m``) gives 0; below chance
        gives a negative ``d'`` (the model extends there: the observer picks the
        signal less often than a guess would); ``Pc = 1`` gives ``inf`` and
        ``Pc = 0`` gives ``-inf``; NaN stays NaN.

    Raises
    ------
    ValueError
        For a proportion outside ``[0, 1]`` or an ``m`` that is not an integer >= 2.
    """
    alternatives = _check_m(m)
    p = np.asarray(proportion_correct, dtype=np.float64)
    p, alternatives = np.broadcast_arrays(p, alternatives)
    outside = (p < 0) | (p > 1)
    if outside.any():
        raise ValueError(
            "Invalid value for the 'proportion_correct' parameter: expected proportions in "
            f"[0, 1], but got {p[outside][:5]!r}."
        )
    from scipy.special import ndtri

    inner = np.isfinite(p) & (p > 0) & (p < 1)
    two = alternatives == 2
    d = np.zeros(p.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(two, math.sqrt(2.0) * ndtri(np.where(inner, p, 0.5)), d)
    numeric = inner & ~two
    if numeric.any():
        d[numeric] = _solve(p[numeric], alternatives[numeric])
    d = np.where(p == 1.0 / alternatives, 0.0, d)
    d = np.where(inner, d, np.where(p == 1, np.inf, np.where(p == 0, -np.inf, np.nan)))
    return float(d) if d.ndim == 0 else np.asarray(d)
