"""Honest statistics over seeds: mean and interquartile mean with 95% bootstrap confidence intervals.

Few seeds give wide intervals; report them anyway (Agarwal et al., 2021, "Deep RL at the edge of the
statistical precipice", and its ``rliable`` library recommend the interquartile mean, IQM: the mean
of the middle 50% of runs, robust to one lucky or unlucky seed, and stratified bootstrap CIs).
The intervals here are scipy's bootstrap (BCa when it can be computed, else percentile), seeded.

    summarize([0.9, 0.95, 1.0, 0.2, 0.97])
    # {"n": 5, "mean": 0.804, "mean_ci": (0.5, 0.97), "iqm": 0.94, "iqm_ci": (...), "min": 0.2, "max": 1.0}
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import stats as sstats

__all__ = ["bootstrap_ci", "iqm", "summarize"]


def iqm(values: Sequence[float] | np.ndarray) -> float:
    """The interquartile mean: the mean of the values between the 25th and 75th percentiles (25% trimmed mean)."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("iqm of an empty sequence")
    return float(sstats.trim_mean(arr, 0.25))


def _vectorized(statistic: Callable[[np.ndarray], float]) -> Callable[..., Any]:
    """``statistic`` over an ``axis`` of a batch of resamples: numpy's own for the mean and the IQM (fast)."""
    if statistic is np.mean:
        return lambda x, axis=-1: np.mean(x, axis=axis)
    if statistic is iqm:
        return lambda x, axis=-1: sstats.trim_mean(x, 0.25, axis=axis)
    return lambda x, axis=-1: np.apply_along_axis(statistic, axis, x)


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], float] = np.mean,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2_000,
    seed: int = 0,
) -> tuple[float, float]:
    """A ``confidence`` bootstrap interval of ``statistic`` over ``values`` (seeded: the same values, the same CI).

    With one value, or all values equal, the interval is that value (there is no spread to resample).
    """
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("bootstrap_ci of an empty sequence")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1). Got {confidence}.")
    if arr.size == 1 or np.all(arr == arr[0]):
        v = float(statistic(arr))
        return v, v
    method = "BCa" if arr.size >= 3 else "percentile"
    stat = _vectorized(statistic)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BCa warns on degenerate resamples; we fall back below
        res = sstats.bootstrap(
            (arr,),
            stat,
            confidence_level=confidence,
            n_resamples=n_resamples,
            method=method,
            rng=np.random.default_rng(seed),
            vectorized=True,
        )
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (np.isfinite(lo) and np.isfinite(hi)):  # BCa can fail on tiny samples: percentile instead
        res = sstats.bootstrap(
            (arr,),
            stat,
            confidence_level=confidence,
            n_resamples=n_resamples,
            method="percentile",
            rng=np.random.default_rng(seed),
            vectorized=True,
        )
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return lo, hi


def summarize(values: Sequence[float] | np.ndarray, *, confidence: float = 0.95, seed: int = 0) -> dict[str, Any]:
    """``n``, ``mean``, ``mean_ci``, ``iqm``, ``iqm_ci``, ``min``, ``max`` of per-seed values (NaNs dropped)."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return {"n": 0}
    return {
        "n": int(arr.size),
        "mean": float(arr.mean()),
        "mean_ci": bootstrap_ci(arr, np.mean, confidence=confidence, seed=seed),
        "iqm": iqm(arr),
        "iqm_ci": bootstrap_ci(arr, iqm, confidence=confidence, seed=seed),
        "min": float(arr.min()),
        "max": float(arr.max()),
    }
