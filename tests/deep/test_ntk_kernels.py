"""Analytic NNGP/NTK recursion and the empirical NTK (spec deep_robustness_ntk.md §0.2, §6.2, §7 oracles 1-3)."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from asymptotics.errors import InvalidParameter  # noqa: E402
from deep.ntk import (NTKMLP, empirical_ntk, per_sample_gradient_ntk, relu_kernels, relu_nngp,  # noqa: E402
                      relu_nngp_diagonal, relu_ntk)


def _sphere(n=8, d=16, seed=0):
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return x / x.norm(dim=1, keepdim=True) * math.sqrt(d)


def _rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_nngp_diagonal_recursion_is_exact(depth):
    x = _sphere(5).numpy() * np.linspace(0.3, 2.0, 5)[:, None]
    K = relu_nngp(x, depth=depth, sigma_w=1.3, sigma_b=0.2)
    diag = relu_nngp_diagonal(x, depth, 1.3, 0.2)
    s = 1.3 ** 2 * (x * x).sum(1) / 16 + 0.04
    for _ in range(depth):
        s = 1.3 ** 2 * s / 2 + 0.04
    np.testing.assert_allclose(diag[-1], s, rtol=1e-15)
    np.testing.assert_allclose(np.diag(K), s, rtol=1e-13)     # angle set to 0 exactly on the diagonal


def test_numpy_and_torch_agree_and_blocks_do_not_matter():
    x, z = _sphere(7), _sphere(5, seed=1)
    Kn, Tn = relu_kernels(x.numpy(), z.numpy(), depth=3)
    Kt, Tt = relu_kernels(x, z, depth=3, block_size=2)
    np.testing.assert_allclose(Kt.numpy(), Kn, rtol=1e-13)
    np.testing.assert_allclose(Tt.numpy(), Tn, rtol=1e-13)


def test_ntk_unrolled_sum_form_depth_two():
    x = _sphere(4).numpy()
    K1 = relu_nngp(x, depth=0)
    K2, K3 = relu_nngp(x, depth=1), relu_nngp(x, depth=2)
    # dotSigma^{l+1} = sigma_w^2 (pi - theta_l)/(2 pi); derive from each layer's angle
    def dot(K):
        dg = np.sqrt(np.outer(np.diag(K), np.diag(K)))
        r = K / dg
        th = np.where(r >= 1 - 1e-7, 0.0, np.arccos(np.clip(r, -1 + 1e-7, 1 - 1e-7)))
        return 2.0 * (np.pi - th) / (2 * np.pi)
    T = K3 + dot(K2) * K2 + dot(K2) * dot(K1) * K1
    np.testing.assert_allclose(relu_ntk(x, depth=2), T, rtol=1e-12)


def test_input_gradient_is_finite_at_training_points():
    x = _sphere(3).requires_grad_(True)
    relu_ntk(x, x.detach(), depth=2).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_layerwise_ntk_equals_torch_func_and_per_sample_loop():
    x = _sphere(6)
    net = NTKMLP(16, [32, 24], out_features=3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    full = empirical_ntk(net, x, mode="full", chunk_size=4)
    assert full.shape == (6, 6, 3, 3)
    mean = empirical_ntk(net, x, chunk_size=4)
    torch.testing.assert_close(mean, torch.einsum("abcc->ab", full) / 3, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(net.ntk(x), mean, rtol=1e-10, atol=1e-10)
    scalar = NTKMLP(16, [32], generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(empirical_ntk(scalar, x[:4], x), per_sample_gradient_ntk(scalar, x)[:4],
                               rtol=1e-10, atol=1e-10)


def test_empirical_ntk_rejects_bad_mode():
    with pytest.raises(InvalidParameter):
        empirical_ntk(torch.nn.Linear(2, 1), torch.zeros(2, 2), mode="diag")


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_analytic_vs_empirical_single_seed_at_width_4096(depth):
    # spec §7 oracle 1: single-seed relative Frobenius error < 0.10 at width 4096 (measured 0.03-0.065)
    x = _sphere()
    net = NTKMLP(16, [4096] * depth, generator=torch.Generator().manual_seed(depth), dtype=torch.float64)
    assert _rel(net.ntk(x), relu_ntk(x, depth=depth)) < 0.10


def test_error_shrinks_like_inverse_sqrt_width():
    # spec §7 oracle 2: error(1024)/error(4096) in [1.4, 2.8]; averaged over 8 seeds to tame fluctuations
    x = _sphere()
    A = relu_ntk(x, depth=1)
    err = {}
    for w in (1024, 4096):
        err[w] = np.mean([_rel(NTKMLP(16, [w], generator=torch.Generator().manual_seed(s),
                                      dtype=torch.float64).ntk(x), A) for s in range(8)])
    assert 1.4 <= err[1024] / err[4096] <= 2.8


@pytest.mark.slow
@pytest.mark.parametrize("depth", [1, 2])
def test_seed_averaged_empirical_ntk_within_three_percent(depth):
    # spec §7 oracle 1: mean over 20 seeds < 0.03 at width 4096 for L <= 2 (measured 0.010-0.015)
    x = _sphere()
    avg = sum(NTKMLP(16, [4096] * depth, generator=torch.Generator().manual_seed(100 + s),
                     dtype=torch.float64).ntk(x) for s in range(20)) / 20
    assert _rel(avg, relu_ntk(x, depth=depth)) < 0.03
