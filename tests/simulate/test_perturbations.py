"""The closed-form worst-case perturbation attains the closed-form robust loss; random feasible ones never exceed it."""
import math

import numpy as np
import pytest

from asymptotics import LOSSES, Attack, parse_attack
from simulate.perturbations import attack_norm, robust_margins, unit_maximiser, worst_case

ATTACKS = {"linf": parse_attack("linf"), "l2": parse_attack("l2"), "l1": parse_attack("l1"),
           "l1.5": parse_attack("l1.5"), "l3": parse_attack("l3"), "maha": Attack.mahalanobis([0.5, 2.0, 1.0, 4.0])}


def _random_feasible(attack, d, radius, rng, k):
    """k random points of the attack ball's boundary (direction ~ Gaussian, signs, sparse, scaled to radius)."""
    dirs = rng.standard_normal((k, d)) * (rng.random((k, d)) < rng.random((k, 1)))
    dirs[np.all(dirs == 0, axis=1), 0] = 1.0
    return radius * dirs / attack_norm(attack, dirs)[:, None]


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_worst_case_attains_closed_form_and_random_feasible_never_exceed(name):
    attack = ATTACKS[name]
    rng = np.random.default_rng(3)
    d, eps, n = 40, 0.7, 6
    w = rng.standard_normal(d)
    X = rng.standard_normal((n, d))
    y = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    loss = LOSSES["logistic"]()
    delta = worst_case(attack, w, y, eps)
    radius = attack.radius(eps, d)
    # feasibility: on the boundary of the ball (1e-12 relative)
    np.testing.assert_allclose(attack_norm(attack, delta), radius, rtol=1e-12)
    # Hoelder: w.u* = ||w||_* and radius ||w||_*/sqrt(d) = eps A(w)
    assert w @ unit_maximiser(attack, w) == pytest.approx(attack.dual_norm(w), rel=1e-12)
    closed = loss.value(y * (X @ w) / math.sqrt(d) - eps * attack.margin_shift(w))
    attained = loss.value(y * ((X + delta) @ w) / math.sqrt(d))
    np.testing.assert_allclose(attained, closed, rtol=1e-12)
    np.testing.assert_allclose(robust_margins(attack, w, X @ w / math.sqrt(d), y, eps),
                               y * ((X + delta) @ w) / math.sqrt(d), rtol=1e-12, atol=1e-14)
    # no random feasible perturbation exceeds the closed form (rounding slack 1e-12)
    for i in range(n):
        rand = _random_feasible(attack, d, radius, rng, 2000)
        values = loss.value(y[i] * ((X[i] + rand) @ w) / math.sqrt(d))
        assert np.max(values) <= closed[i] * (1 + 1e-12)
