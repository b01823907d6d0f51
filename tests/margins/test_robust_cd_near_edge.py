"""Robust coordinate descent close to eps*(S): with the minimum-norm subgradient of the l1 attack term at zero
coordinates the l1-normalised robust margin approaches its optimum eps* - eps (matched geometry, spec fact 1)."""
import numpy as np
import pytest

from asymptotics import robust_separability_radius
from simulate.steepest import steepest_descent


@pytest.mark.parametrize("fraction", [0.5, 0.75])
def test_robust_cd_reaches_the_matched_optimum(fraction):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 30))
    teacher = np.zeros(30)
    teacher[:3] = [1.0, -1.0, 1.0]
    y = np.where(X @ teacher > 0, 1.0, -1.0)
    eps_star = robust_separability_radius(X, y)
    eps = fraction * eps_star
    B = np.abs(X).max() + eps
    run = steepest_descent(X, y, norm="l1", steps=200_000, lr=1 / B ** 2, schedule="loss_scaled", eps=eps,
                           checkpoints=4, max_lr=1e5)
    margin = run.stats["robust_margin_l1"][-1]
    assert margin <= eps_star - eps + 1e-9                      # never above the optimum
    assert margin >= 0.95 * (eps_star - eps)                    # and within 5% of it
