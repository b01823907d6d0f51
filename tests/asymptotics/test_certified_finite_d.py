"""Finite-d evidence for the fixed points that version 0.1 got wrong (it returned w = 0 at every point below).

``simulate.erm`` (certified FISTA / Clarabel solves, fixed seeds) must agree with the new fixed point within 3
standard errors of the seed mean in m, q and P. The points span the losses (logistic, square, hinge, exponential)
and the attacks (l-inf, l2, l1, l1.5, l3); all use an l1 regularizer, where v0.1's wrong collapses concentrated.
d = 1000 with 10 seeds for the smooth losses; d = 500 with 6 seeds for the hinge (a conic solve, slower). Small n
(alpha = 0.1 gives n = 100) makes the per-seed spread large, and a standard error from few seeds is itself noisy:
10 seeds where they are cheap.
"""
import numpy as np
import pytest

from asymptotics import solve

simulate = pytest.importorskip("simulate")

POINTS = [
    (dict(alpha=0.1, eps=0.3, lam=0.01, attack="linf", reg="l1", loss="logistic"), 1000),
    (dict(alpha=0.8, eps=0.3, lam=0.05, attack="l2", reg="l1", loss="square"), 1000),
    (dict(alpha=0.4635, eps=0.4094, lam=0.03067, attack="l1", reg="l1", loss="square"), 1000),
    (dict(alpha=0.1078, eps=0.4299, lam=0.01752, attack="l1.5", reg="l1", loss="exponential"), 1000),
    (dict(alpha=0.1454, eps=0.2795, lam=0.004373, attack="l1", reg="l1", loss="logistic"), 1000),
    (dict(alpha=0.2601, eps=0.2189, lam=0.06527, attack="linf", reg="l1", loss="hinge"), 500),
    (dict(alpha=0.5204, eps=0.1879, lam=0.001428, attack="l3", reg="l1", loss="hinge"), 500),
]


@pytest.mark.slow
@pytest.mark.parametrize("point,d", POINTS, ids=[f"{p['attack']}-{p['loss']}" for p, _ in POINTS])
def test_fixed_point_where_v01_collapsed_matches_finite_d_erm(point, d):
    fp = solve(**point)
    assert not fp.trivial and fp.q > 0.5      # far from zero: v0.1's w = 0 was wrong by O(1)
    sim = simulate.erm(**point, d=d, seeds=6 if point["loss"] == "hinge" else 10)
    for name in ("m", "q", "P"):
        z = (sim.mean[name] - getattr(fp, name)) / sim.sem(name)
        assert abs(z) < 3.0, (name, sim.mean[name], getattr(fp, name), z)
    assert np.isclose(sim.mean["q"], fp.q, rtol=0.1)


SMALL_LAM_POINTS = [
    # points where the first certified release raised ConvergenceError (V ~ 1 / lam): now solved by the scaled
    # starts and the lam path; finite-d ERM must agree the same way.
    (dict(alpha=0.1, eps=0.5, lam=1e-4, attack="linf", reg="l1", loss="square"), 1000),
    (dict(alpha=0.1, eps=0.5, lam=1e-4, attack="l2", reg="l1.5", loss="square"), 1000),
]


@pytest.mark.slow
@pytest.mark.parametrize("point,d", SMALL_LAM_POINTS, ids=[f"{p['attack']}-{p['reg']}" for p, _ in SMALL_LAM_POINTS])
def test_small_lam_fixed_point_matches_finite_d_erm(point, d):
    fp = solve(**point)
    sim = simulate.erm(**point, d=d, seeds=10)
    for name in ("m", "q", "P"):
        z = (sim.mean[name] - getattr(fp, name)) / sim.sem(name)
        assert abs(z) < 3.0, (name, sim.mean[name], getattr(fp, name), z)
