"""simulate.compare and simulate.erm under bad or degenerate input: repeated dimensions are refused, the d -> inf
fit is exact on exact data, zero-variance observables get no z from a floored standard error, probability intervals
stay in [0, 1], and every erm argument is checked before any work."""
import math
import sys

import numpy as np
import pytest

import simulate.experiment as experiment
from asymptotics.errors import InvalidParameter
from simulate import compare, erm
from simulate.compare import PROBABILITIES, fit_inverse_d

POINT = dict(alpha=0.5, eps=0.1, lam=0.1)


def test_repeated_dimension_is_refused_before_any_work(monkeypatch):
    monkeypatch.setattr(experiment, "map_points", _no_work)
    with pytest.raises(InvalidParameter, match=r"ds: dimensions must be distinct; \[50\] repeated"):
        compare(POINT, ds=(50, 50), seeds=2)
    with pytest.raises(InvalidParameter, match="distinct"):
        fit_inverse_d([50, 50], [1.0, 1.0], [0.1, 0.1])


def test_two_dimensions_with_equal_means_extrapolate_to_that_mean():
    # the reported bug: a singular design gave a = mean / 2; with distinct d the line through two equal means is flat
    a, se, b, chi2 = fit_inverse_d([50, 100], [0.8, 0.8], [0.01, 0.02])
    assert a == pytest.approx(0.8, abs=1e-12) and b == pytest.approx(0.0, abs=1e-12)   # exact arithmetic up to rounding


def test_zero_variance_fit_is_unweighted_with_the_standard_error_propagated():
    ds = np.array([100.0, 200.0, 400.0])
    means = 0.3 + 5.0 / ds
    a, se, b, chi2 = fit_inverse_d(ds, means, [0.0, 0.0, 0.0])
    assert a == pytest.approx(0.3, abs=1e-12) and b == pytest.approx(5.0, rel=1e-10) and se == 0.0
    # only the largest d has spread: se(a) = |c_a[2]| s_2 with c_a the OLS intercept weights
    A = np.stack([np.ones(3), 1.0 / ds], axis=1)
    c_a = np.linalg.pinv(A)[0]
    _, se, _, _ = fit_inverse_d(ds, means, [0.0, 0.0, 0.01])
    assert se == pytest.approx(abs(c_a[2]) * 0.01, rel=1e-10)


def test_zero_variance_observable_has_no_z_and_probability_intervals_are_clipped():
    # train error is 0 on every seed at this point (separable training sets at alpha = 0.5)
    res = compare(POINT, ds=(40, 80), seeds=2, n_test=200)
    row = res.rows["train_error"]
    assert row.sems == (0.0, 0.0) and row.intercept_se == 0.0
    assert row.z is None and row.z_largest_d is None and row.z_note.startswith("zero variance over seeds")
    assert ("exact agreement" in row.z_note) == (abs(row.intercept - row.theory) <= 1e-12)
    for name in PROBABILITIES:
        r = res.rows[name]
        assert 0.0 <= r.ci_low <= r.ci_high <= 1.0, (name, r.ci_low, r.ci_high)
    assert math.isfinite(res.max_abs_z) and res.max_abs_z == max(abs(r.z) for r in res.rows.values()
                                                                 if r.z is not None)
    assert "zero variance" in repr(res)


def _no_work(*args, **kwargs):
    raise AssertionError("work started before the arguments were checked")


@pytest.mark.parametrize("kwargs,name,needle", [
    (dict(solver="bogus"), "solver", "must be 'auto' or one of"),
    (dict(solver=None), "solver", "must be 'auto' or one of"),
    (dict(solver="lbfgs", loss="hinge"), "solver", "lbfgs needs a smooth loss"),
    (dict(solver="fista", loss="hinge"), "solver", "fista needs a smooth loss"),
    (dict(solver="lbfgs", reg="l1"), "solver", "lbfgs needs a smooth attack and regularizer"),
    (dict(solver="lbfgs", attack="l1"), "solver", "lbfgs needs a smooth attack and regularizer"),
    (dict(base=-1), "base", ">= 0"),
    (dict(base=1.5), "base", "integer"),
    (dict(executor="threads"), "executor", "must be one of"),
    (dict(progress="yes"), "progress", "True, False or None"),
    (dict(n_jobs=0), "n_jobs", ">= 1"),
    (dict(tol=0.0), "tol", "> 0"),
    (dict(n_test=0), "n_test", ">= 1"),
    (dict(seeds=[1, 1]), "seeds", "distinct"),
    (dict(d=1), "d", ">= 2"),
])
def test_erm_checks_every_argument_before_any_work(monkeypatch, kwargs, name, needle):
    monkeypatch.setattr(experiment, "map_points", _no_work)
    with pytest.raises(InvalidParameter, match=needle) as info:
        erm(**{**POINT, "d": 20, "seeds": 2, **kwargs})
    assert info.value.parameter == name


def test_compare_checks_the_simulation_arguments_before_the_theory_solve(monkeypatch):
    module = sys.modules["simulate.compare"]          # the package attribute `compare` is the function
    monkeypatch.setattr(module, "theory_solve", _no_work)
    with pytest.raises(InvalidParameter, match="lbfgs needs a smooth loss"):
        compare({**POINT, "loss": "hinge"}, ds=(20, 40), seeds=2, solver="lbfgs")
    with pytest.raises(InvalidParameter, match="is not a parameter of a point"):
        compare({**POINT, "d": 20}, ds=(20, 40), seeds=2)
    with pytest.raises(InvalidParameter, match="lam: is required"):
        compare(dict(alpha=0.5, eps=0.1), ds=(20, 40), seeds=2)
