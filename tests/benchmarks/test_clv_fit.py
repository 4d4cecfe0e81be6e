import math
import sys

import pytest

from benchmarks import clv_fit
from benchmarks.harness import BenchmarkContext, resolve_references
from elt.errors import EltError


def context(tmp_path, rows=3000):
    # the benchmark simulates its data in memory: it never touches the database
    return BenchmarkContext(target=None, rows=rows, seed=5, workdir=tmp_path)


def test_clv_fit_times_both_fits_and_checks_they_agree(tmp_path):
    measured = {m.metric: m for m in resolve_references(clv_fit.run(context(tmp_path)))}
    assert set(measured) == {
        "clv_fit.lifetimes",
        "clv_fit.numeric",
        "clv_fit.numeric_seconds",
        "clv_fit.lifetimes_seconds",
        "clv_fit.max_param_difference",
    }
    assert measured["clv_fit.max_param_difference"].unit == "ppm"
    assert measured["clv_fit.max_param_difference"].value <= clv_fit.AGREEMENT_RTOL * 1e6
    lifetimes_rate = measured["clv_fit.lifetimes"].value
    assert lifetimes_rate == pytest.approx(3000 / measured["clv_fit.lifetimes_seconds"].value)
    assert measured["clv_fit.numeric"].value == pytest.approx(3000 / measured["clv_fit.numeric_seconds"].value)
    assert measured["clv_fit.numeric"].reference == lifetimes_rate
    assert measured["clv_fit.numeric"].ratio == pytest.approx(measured["clv_fit.numeric"].value / lifetimes_rate)


def test_clv_fit_fails_when_the_fits_disagree(tmp_path, monkeypatch):
    monkeypatch.setattr(clv_fit, "AGREEMENT_RTOL", 1e-15)  # no two optimisers agree to the last bit
    with pytest.raises(EltError, match="relative difference"):
        clv_fit.run(context(tmp_path))


def test_clv_fit_without_lifetimes_records_the_reference_as_not_measured(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "lifetimes", None)  # what an install without the dev extra looks like
    measured = {m.metric: m for m in resolve_references(clv_fit.run(context(tmp_path)))}
    assert set(measured) == {"clv_fit.numeric", "clv_fit.numeric_seconds", "clv_fit.lifetimes"}
    assert math.isnan(measured["clv_fit.lifetimes"].value)
    assert "not installed" in measured["clv_fit.lifetimes"].note
    assert measured["clv_fit.numeric"].value > 0
    assert "lifetimes is not installed" in capsys.readouterr().err
