"""Kernel machine, eigen-features, kernel attacks, kernel metrics (spec §1.5, §7 oracles 4-7)."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from asymptotics.errors import InvalidParameter  # noqa: E402
from deep.attacks import fgsm, pgd  # noqa: E402
from deep.data import digits_binary  # noqa: E402
from deep.ntk import (KernelMachine, distance_matrix, eigen_mass, feature_metrics, kernel_distance,  # noqa: E402
                      kernel_similarity, kernel_target_alignment, polar_dynamics, predictions_accuracy,
                      spectral_truncation)


@pytest.fixture(scope="module")
def digits():
    return digits_binary((3, 8), n_train=120, n_test=100, seed=0, device="cpu", dtype=torch.float64)


def test_ridgeless_predictor_interpolates(digits):
    km = KernelMachine(digits.X_train, digits.y_train, kernel="ntk", kernel_options=dict(depth=2))
    r = km(digits.X_train) - digits.y_train
    assert float(r.norm() / digits.y_train.norm()) < 1e-6       # oracle 4


@pytest.mark.parametrize("multiclass", [False, True])
def test_features_sum_to_predictor_and_are_exact_on_training_points(digits, multiclass):
    Y = digits.y_train
    if multiclass:
        Y = torch.nn.functional.one_hot(((Y + 1) / 2).long(), 2).double()
    km = KernelMachine(digits.X_train, Y, ridge=1e-3, relative_ridge=True)
    F = km.features(digits.X_test)
    out = km(digits.X_test)
    assert float((F.sum(0) - out).norm() / out.norm()) < 1e-8      # oracle 5
    Ftr = km.features(digits.X_train)
    V, lam = km.eigenvectors, km.eigenvalues
    shrink = lam / (lam + km.ridge_value)
    expect = torch.einsum("nk,k,k...->kn...", V, shrink, V.T @ Y)
    torch.testing.assert_close(Ftr, expect, rtol=1e-7, atol=1e-9)
    partial = km.feature(range(5))(digits.X_test)
    torch.testing.assert_close(partial, F[:5].sum(0), rtol=1e-10, atol=1e-12)


def test_linear_kernel_machine_gradient_and_minimal_flip_radius():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(5, 12, generator=g, dtype=torch.float64)
    Y = torch.tensor([1., -1., 1., -1., 1.], dtype=torch.float64)
    km = KernelMachine(X, Y, kernel=lambda a, b: a @ b.T)
    w = X.T @ torch.linalg.solve(X @ X.T, Y)
    x = torch.rand(6, 12, generator=g, dtype=torch.float64).requires_grad_(True)
    km(x).sum().backward()
    torch.testing.assert_close(x.grad, w.expand(6, -1), rtol=1e-8, atol=1e-10)
    f = km(x.detach())
    y = torch.sign(f)
    radius = f.abs() / w.abs().sum()                                # oracle 7
    adv = fgsm(km, x.detach(), y, float(radius.max()) * 1.0001, box=None)
    assert bool((torch.sign(km(adv)) != y).all())


def test_attack_on_kernel_lowers_accuracy_and_respects_ball(digits):
    km = KernelMachine(digits.X_train, digits.y_train, ridge=1e-8, relative_ridge=True)
    clean = predictions_accuracy(km(digits.X_test), digits.y_test)
    accs = []
    for eps in (0.05, 0.1, 0.2):
        adv = pgd(km, digits.X_test, digits.y_test, eps, steps=10, step_size=eps / 4, random_start=False)
        assert float((adv - digits.X_test).abs().max()) <= eps + 1e-7 and 0 <= float(adv.min()) <= float(adv.max()) <= 1
        accs.append(predictions_accuracy(km(adv), digits.y_test))
    assert clean > 0.9 and accs[-1] < clean - 0.3
    assert accs == sorted(accs, reverse=True)


def test_feature_metrics_top_feature_useful(digits):
    km = KernelMachine(digits.X_train, digits.y_train, ridge=1e-8, relative_ridge=True)
    m = feature_metrics(km, digits.X_test, digits.y_test, [0, 1, 119], eps=0.0)
    assert m["usefulness"] == m["robustness"] and m["eigenvalue"][0] >= m["eigenvalue"][1]
    with pytest.raises(InvalidParameter):
        km.features(digits.X_test, [120])


def test_kernel_metric_identities():                                 # oracle 6
    g = torch.Generator().manual_seed(0)
    A = torch.randn(10, 10, generator=g, dtype=torch.float64)
    K = A @ A.T
    B = torch.randn(10, 10, generator=g, dtype=torch.float64)
    L = B @ B.T
    assert kernel_similarity(K, K) == pytest.approx(1.0, abs=1e-14)
    assert kernel_similarity(K, 3.7 * K) == pytest.approx(1.0, abs=1e-14)
    assert 0.0 <= kernel_distance(K, L) <= 1.0
    assert eigen_mass(torch.eye(10), 3) == pytest.approx(0.3) and eigen_mass(K, 10) == pytest.approx(1.0)
    top, bottom = spectral_truncation(K, 4, "top"), spectral_truncation(K, 4, "bottom")
    np.testing.assert_allclose(top + bottom, K.numpy(), atol=1e-10)
    pol = polar_dynamics([K, K + 0.1 * L, K + L])
    assert pol["radius"][0] == 0 and pol["radius"][-1] == 1 and pol["angle"][0] == pytest.approx(0, abs=1e-7)
    D = distance_matrix([K, L, 2 * K])
    assert D[0, 2] == pytest.approx(0, abs=1e-12) and np.allclose(D, D.T)
    y = torch.tensor([1., -1.] * 5, dtype=torch.float64)
    assert kernel_target_alignment(torch.outer(y, y), y) == pytest.approx(1.0)
    full = torch.randn(3, 3, 2, 2, generator=g, dtype=torch.float64)
    assert kernel_similarity(full, full) == pytest.approx(1.0)
