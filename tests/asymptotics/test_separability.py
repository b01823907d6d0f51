"""Spec §8 oracle 8 (Cover / Candes-Sur): with label noise, lam = 0 and eps = 0 the minimiser is finite iff the data
are not separable, i.e. iff alpha > 1/h with h = min_t E[(Z - t Y nu)_+^2] (nu the teacher field, Y its noisy sign,
Z ~ N(0, 1) independent). h is computed here by 3-D Gauss-Hermite quadrature, independently of the solver."""
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from asymptotics import ConvergenceError, solve


def separability_h(tau, rho=1.0, nodes=60):
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    Z, N, E = np.meshgrid(x, x, x, indexing="ij")
    W = w[:, None, None] * w[None, :, None] * w[None, None, :]
    nu = np.sqrt(rho) * N
    Y = np.sign(nu + tau * E)
    return minimize_scalar(lambda t: np.sum(W * np.maximum(Z - t * Y * nu, 0.0) ** 2), bounds=(0, 20),
                           method="bounded").fun


def test_pure_noise_limit_is_cover_threshold():
    assert separability_h(tau=1e6) == pytest.approx(0.5, abs=2e-3)


@pytest.mark.parametrize("tau", [0.5, 1.0])
def test_minimiser_exists_exactly_above_the_separability_threshold(tau):
    alpha_c = 1.0 / separability_h(tau)
    above = solve(1.2 * alpha_c, 0.0, 0.0, attack="linf", reg="l2", data=dict(tau=tau))
    assert np.isfinite(above.q) and above.q < 1e3
    with pytest.raises(ConvergenceError, match="diverge"):
        solve(0.8 * alpha_c, 0.0, 0.0, attack="linf", reg="l2", data=dict(tau=tau))
