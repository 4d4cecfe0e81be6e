"""Benchmark: BG/NBD maximum-likelihood fit of ``rows`` simulated customers, numeric.fitting against lifetimes.

The customers are simulated from the BG/NBD generative process (:func:`numeric.simulate.simulate_bgnbd`) with the
CDNOW parameters of Fader, Hardie & Lee (2005) in weeks, observation lengths uniform in 27-39 weeks; times are
continuous, so no two customers share a summary and collapsing identical rows saves nothing. Both fits get the
same arrays: :func:`numeric.fitting.fit_bgnbd` (JIT-compiled, or loaded from Numba's cache, before timing) and
``lifetimes`` 0.11.3 ``BetaGeoFitter().fit`` with its defaults (the dev extra installs it). Each side is timed as
the best of a few runs; the benchmark fails when the two parameter sets differ by more than 1e-4 relative.
Without ``lifetimes`` only the project's fit is measured and the reference is recorded as not measured (NaN).
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.harness import Benchmark, BenchmarkContext, Measurement
from elt.errors import EltError
from numeric.fitting import fit_bgnbd
from numeric.simulate import simulate_bgnbd

NAME = "clv_fit"
REFERENCE_METRIC = f"{NAME}.lifetimes"
TRUE_PARAMS = (0.243, 4.414, 0.793, 2.426)  # r, alpha (weeks), a, b of the CDNOW fit
T_WEEKS = (27.0, 39.0)
AGREEMENT_RTOL = 1e-4
NUMERIC_REPEATS = 5
LIFETIMES_REPEATS = 2


def import_lifetimes() -> ModuleType | None:
    """``lifetimes``, imported without its import-time warnings (pkg_resources, a pandas option); None if absent."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import lifetimes
        except ImportError:
            return None
    return lifetimes


def best_time(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Shortest wall time of ``repeats`` calls, and the result of the last call."""
    best = float("inf")
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def run(ctx: BenchmarkContext) -> list[Measurement]:
    """Simulate ``ctx.rows`` customers, time both fits on them and check that they agree."""
    n = ctx.rows
    x, t_x, big_t = simulate_bgnbd(np.random.default_rng(ctx.seed), n, *TRUE_PARAMS, *T_WEEKS)
    fit_bgnbd(x[:2000], t_x[:2000], big_t[:2000])  # compile or load the kernels
    numeric_seconds, fit = best_time(lambda: fit_bgnbd(x, t_x, big_t), NUMERIC_REPEATS)
    shape = f"{n:,} simulated customers (CDNOW parameters, weeks), {int((x > 0).sum()):,} with repeat purchases"
    measurements = [
        Measurement(
            f"{NAME}.numeric",
            n / numeric_seconds,
            "customers/s",
            REFERENCE_METRIC,
            note=f"numeric.fitting.fit_bgnbd, best of {NUMERIC_REPEATS}: {numeric_seconds:.3f} s; {shape}",
        ),
        Measurement(f"{NAME}.numeric_seconds", numeric_seconds, "s", note=f"best of {NUMERIC_REPEATS}"),
    ]
    lifetimes = import_lifetimes()
    if lifetimes is None:
        message = "lifetimes is not installed (pip install -e '.[dev]'): the reference fit is not measured"
        print(f"{NAME}: {message}", file=sys.stderr)
        return [*measurements, Measurement(REFERENCE_METRIC, float("nan"), "customers/s", note=message)]

    frequency, recency, age = pd.Series(x), pd.Series(t_x), pd.Series(big_t)
    lifetimes_seconds, fitter = best_time(
        lambda: lifetimes.BetaGeoFitter().fit(frequency, recency, age), LIFETIMES_REPEATS
    )
    theirs = fitter.params_[["r", "alpha", "a", "b"]].to_numpy(dtype=float)
    difference = float(np.max(np.abs(theirs / np.array(fit.params) - 1.0)))
    if not difference <= AGREEMENT_RTOL:
        raise EltError(
            f"{NAME}: lifetimes fitted (r, alpha, a, b) = {tuple(theirs)}, numeric.fitting {fit.params}: "
            f"relative difference {difference:.3g} > {AGREEMENT_RTOL}"
        )
    return [
        Measurement(
            REFERENCE_METRIC,
            n / lifetimes_seconds,
            "customers/s",
            REFERENCE_METRIC,
            note=f"lifetimes {lifetimes.__version__} BetaGeoFitter().fit, best of {LIFETIMES_REPEATS}: "
            f"{lifetimes_seconds:.2f} s",
        ),
        *measurements,
        Measurement(f"{NAME}.lifetimes_seconds", lifetimes_seconds, "s", note=f"best of {LIFETIMES_REPEATS}"),
        Measurement(
            f"{NAME}.max_param_difference",
            difference * 1e6,
            "ppm",
            note=f"largest |lifetimes / numeric - 1| over r, alpha, a, b, in 1e-6 (must be <= {AGREEMENT_RTOL})",
        ),
    ]


BENCHMARK = Benchmark(
    NAME, "BG/NBD fit of simulated customers (--rows of them): numeric.fitting vs lifetimes BetaGeoFitter", run
)
