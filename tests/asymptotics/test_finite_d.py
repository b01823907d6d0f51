"""Theory vs finite-d robust ERM (cvxpy/Clarabel), d = 300, fixed seeds: overlaps within 3 standard errors."""
import numpy as np
import pytest

from asymptotics import Attack, DataModel, Problem, Regularizer, solve
from asymptotics.trivial import zero_is_optimal

from .erm_reference import erm_overlaps

D, SEEDS = 300, 4


def z_scores(point, d=D, seeds=SEEDS):
    """(simulation mean - theory) / standard error for (m, q, P)."""
    fp = solve(**point)
    pb = Problem.from_point(**point)
    sims = np.array([erm_overlaps(pb, d, s) for s in range(seeds)])
    mean, se = sims.mean(0)[:3], sims.std(0, ddof=1)[:3] / np.sqrt(seeds)
    theory = np.array([fp.m, fp.q, fp.P])
    return (mean - theory) / np.maximum(se, 1e-3 * np.abs(theory))


def test_linf_attack_l2_regularizer_matches_simulation():
    z = z_scores(dict(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l2"))
    assert np.all(np.abs(z) < 3.0), z


@pytest.mark.slow
@pytest.mark.parametrize("point", [
    dict(alpha=1.0, eps=0.3, lam=0.05, attack="l3", reg="l2"),                          # general p (p* = 1.5)
    dict(alpha=1.0, eps=0.3, lam=0.05, attack="l1", reg="l2"),                          # box: ||w||_inf
    dict(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l1.5", loss="hinge"),
    dict(alpha=1.0, eps=0.3, lam=0.05, attack=Attack.mahalanobis([1.0, 2.0]), reg=Regularizer.mahalanobis([2.0, 1.0]),
         data=DataModel(cov_x=[1.0, 3.0], tau=0.3)),
], ids=["l3-attack", "l1-attack", "hinge-l1.5", "mahalanobis-noise"])
def test_general_cases_match_simulation(point):
    z = z_scores(point)
    assert np.all(np.abs(z) < 3.0), z


@pytest.mark.slow
def test_collapsed_solution_is_zero_in_simulation():
    # strong l1.5 attack: the w = 0 condition holds and finite-d ERM returns (numerically) zero;
    # a weaker attack fails the condition and ERM does not collapse
    strong = dict(alpha=4.0, eps=1.0, lam=1e-3, attack="l1.5", reg="l2")
    weak = dict(alpha=4.0, eps=0.2, lam=1e-3, attack="l1.5", reg="l2")
    assert zero_is_optimal(Problem.from_point(**strong)) and solve(**strong).trivial
    assert not zero_is_optimal(Problem.from_point(**weak))
    q_strong = erm_overlaps(Problem.from_point(**strong), 200, 0)[1]
    q_weak = erm_overlaps(Problem.from_point(**weak), 200, 0)[1]
    assert q_strong < 1e-6 < 0.01 < q_weak
