"""Benchmark: BG/NBD maximum-likelihood fit of ``rows`` simulated customers, numeric.fitting against lifetimes.

The customers are simulated from the BG/NBD generative process (:func:`numeric.simulate.simulate_bgnbd`) with the
CDNOW parameters of Fader, Hardie & Lee (2005) in weeks, observation lengths uniform in 27-39 weeks; times are
continuous, so no two customers share a summary and collapsing identical rows saves nothing. Both fits get the
same arrays: :func:`numeric.fitting.fit_bgnbd` (JIT-compiled, or loaded from Numba's cache, before timing) and
``lifetimes`` 0.11.3 ``BetaGeoFitter().fit`` with its defaults (the dev extra installs it). Each side is timed as
the best of several runs, in interleaved rounds (three project fits, then one lifetimes fit, twice); the
benchmark fails when the two parameter sets differ by more than 1e-4 relative.
Without ``lifetimes`` only the project's fit is measured and the reference is recorded as not measured (NaN).
"""

from __future__ import annotations

import sys
import warnings
from types import ModuleType

import numpy as np
import pandas as pd

from benchmarks.harness import Benchmark, BenchmarkContext, Measurement, interleaved_best_times
from elt.errors import EltError
from numeric.fitting import fit_bgnbd
from numeric.simulate import simulate_bgnbd

NAME = "clv_fit"
REFERENCE_METRIC = f"{NAME}.lifetimes"
TRUE_PARAMS = (0.243, 4.414, 0.793, 2.426)  # r, alpha (weeks), a, b of the CDNOW fit
T_WEEKS = (27.0, 39.0)
AGREEMENT_RTOL = 1e-4
ROUNDS = 2
NUMERIC_PER_ROUND = 3


def import_lifetimes() -> ModuleType | None:
    """``lifetimes``, imported without its import-time warnings (pkg_resources, a pandas option); None if absent."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import lifetimes
        except ImportError:
            return None
    return lifetimes


def run(ctx: BenchmarkContext) -> list[Measurement]:
    """Simulate ``ctx.rows`` customers, time both fits on them and check that they agree."""
    n = ctx.rows
    x, t_x, big_t = simulate_bgnbd(np.random.default_rng(ctx.seed), n, *TRUE_PARAMS, *T_WEEKS)
    fit_bgnbd(x[:2000], t_x[:2000], big_t[:2000])  # compile or load the kernels
    lifetimes = import_lifetimes()
    alternatives = [(lambda: fit_bgnbd(x, t_x, big_t), NUMERIC_PER_ROUND)]
    if lifetimes is not None:
        frequency, recency, age = pd.Series(x), pd.Series(t_x), pd.Series(big_t)
        alternatives.append((lambda: lifetimes.BetaGeoFitter().fit(frequency, recency, age), 1))
    timed = interleaved_best_times(alternatives, ROUNDS)
    numeric_seconds, fit = timed[0]
    repeats = ROUNDS * NUMERIC_PER_ROUND
    shape = f"{n:,} simulated customers (CDNOW parameters, weeks), {int((x > 0).sum()):,} with repeat purchases"
    measurements = [
        Measurement(
            f"{NAME}.numeric",
            n / numeric_seconds,
            "customers/s",
            REFERENCE_METRIC,
            note=f"numeric.fitting.fit_bgnbd, best of {repeats}: {numeric_seconds:.3f} s; {shape}",
        ),
        Measurement(f"{NAME}.numeric_seconds", numeric_seconds, "s", note=f"best of {repeats}"),
    ]
    if lifetimes is None:
        message = "lifetimes is not installed (pip install -e '.[dev]'): the reference fit is not measured"
        print(f"{NAME}: {message}", file=sys.stderr)
        return [*measurements, Measurement(REFERENCE_METRIC, float("nan"), "customers/s", note=message)]

    lifetimes_seconds, fitter = timed[1]
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
            note=f"lifetimes {lifetimes.__version__} BetaGeoFitter().fit, best of {ROUNDS}: {lifetimes_seconds:.2f} s",
        ),
        *measurements,
        Measurement(f"{NAME}.lifetimes_seconds", lifetimes_seconds, "s", note=f"best of {ROUNDS}"),
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
