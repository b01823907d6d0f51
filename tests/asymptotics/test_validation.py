"""Bad input raises an InvalidParameter (a ValueError) naming the parameter, before any work."""
import math

import numpy as np
import pytest

from asymptotics import Attack, DataModel, InvalidParameter, Regularizer, solve, sweep
from asymptotics.errors import ConvergenceError

GOOD = dict(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l2", loss="logistic")


@pytest.mark.parametrize("key,value,name", [
    ("alpha", 0.0, "alpha"), ("alpha", -1.0, "alpha"), ("alpha", math.nan, "alpha"), ("alpha", "1", "alpha"),
    ("alpha", math.inf, "alpha"), ("eps", -0.1, "eps"), ("lam", -1e-3, "lam"), ("attack", "l0.5", "attack"),
    ("attack", "lx", "attack"), ("reg", "l0.9", "reg"), ("reg", 3, None), ("loss", "cauchy", "loss"),
    ("eps_test", -1.0, "eps_test"), ("alpha", True, "alpha"),
])
def test_bad_scalar_inputs_name_the_parameter(key, value, name):
    point = dict(GOOD, **{key: value})
    if name is None:  # a valid alternative spelling
        assert solve(**point).converged
        return
    with pytest.raises(InvalidParameter) as info:
        solve(**point)
    assert info.value.parameter == name
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("make,name", [
    (lambda: Attack.mahalanobis([[1, 2], [0, 1]]), "Sigma_delta"),        # not symmetric
    (lambda: Attack.mahalanobis([1.0, -1.0]), "Sigma_delta"),             # not PD
    (lambda: Regularizer.mahalanobis(np.ones((2, 3))), "Sigma_w"),         # not square
    (lambda: DataModel(cov_x=[1.0, np.nan]), "Sigma_x"),
    (lambda: DataModel(rho=0.0), "rho"),
    (lambda: DataModel(tau=-1.0), "tau"),
    (lambda: Attack.lp(0.5), "p"),
    (lambda: Regularizer.lr(0.5), "r"),
])
def test_bad_covariances_and_specs(make, name):
    with pytest.raises(InvalidParameter) as info:
        make()
    assert info.value.parameter == name


def test_mismatched_dimensions_and_non_commuting_matrices():
    with pytest.raises(InvalidParameter, match="dimensions"):
        solve(**dict(GOOD, attack=Attack.mahalanobis([1, 2]), reg="l2", data=DataModel(cov_x=[1, 2, 3])))
    rot = np.array([[2.0, 1.0], [1.0, 2.0]])
    with pytest.raises(InvalidParameter, match="commute"):
        solve(**dict(GOOD, attack=Attack.mahalanobis(rot), reg=Regularizer.mahalanobis([1.0, 3.0]),
                     data=DataModel(cov_x=[1.0, 2.0])))
    with pytest.raises(InvalidParameter, match="quadratic"):
        solve(**dict(GOOD, attack="linf", data=DataModel(cov_x=rot)))


def test_solver_options_are_validated():
    for key, value in (("tol", 0.0), ("max_iter", 0), ("blend", 1.5), ("anderson", -1), ("init", (1, 2, 3))):
        with pytest.raises(InvalidParameter):
            solve(**GOOD, **{key: value})


def test_sweep_validation():
    with pytest.raises(InvalidParameter, match="param"):
        sweep("rho", [1.0], **{k: v for k, v in GOOD.items()})
    with pytest.raises(InvalidParameter, match="values"):
        sweep("alpha", [], **{k: v for k, v in GOOD.items() if k != "alpha"})
    with pytest.raises(InvalidParameter, match="alpha"):
        sweep("alpha", [1.0], **GOOD)


def test_non_convergence_raises_with_diagnostics():
    # too few iterations: the error carries the last iterate, the residual history and a hint
    with pytest.raises(ConvergenceError) as info:
        solve(**GOOD, max_iter=2, anderson=0)
    err = info.value
    assert len(err.residuals) >= 2 and err.hint and set(err.last_iterate) == {"m", "q", "V", "P"}
