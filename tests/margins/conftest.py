"""Shared data of the margin tests: oracle B (spec margins §3.4) and the robust-spec §5.5 dataset."""
import numpy as np
import pytest


@pytest.fixture
def oracle_b():
    return np.array([[4.0, 1.0], [1.0, 2.0]]), np.ones(2)


def robust_reference_data():
    """Spec implicit_bias_robust §5.5: d = 30, m = 12, default_rng(0), X drawn first as standard normal (m, d),
    teacher (+1, -1, +1) on the first three coordinates, y = sign(X w*) with ties -> -1. This reading of the
    description reproduces eps*(S) = 0.4431 (other orders of the draws give 0.37, 0.48, ...)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 30))
    teacher = np.zeros(30)
    teacher[:3] = [1.0, -1.0, 1.0]
    return X, np.where(X @ teacher > 0, 1.0, -1.0)


def random_separable(seed, m=20, d=50):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, d))
    return X, np.where(X[:, 0] + 0.5 * X[:, 1] > 0, 1.0, -1.0)
