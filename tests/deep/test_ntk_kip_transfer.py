"""Adversarial KIP (spec §2.5, §7 oracle 10), kernel-attack transfer vs width (§1.4), spectral bias (§5)."""
import pytest

torch = pytest.importorskip("torch")

from deep.data import digits_binary, digits_multiclass  # noqa: E402
from deep.ntk import (adversarial_kip_loss, adversarial_targets, distill, kip_loss, kip_predict,  # noqa: E402
                      relu_ntk, spectral_bias_circle)
from deep.ntk.kernel_utils import one_hot  # noqa: E402
from deep.ntk.transfer import transfer_sweep  # noqa: E402


@pytest.fixture(scope="module")
def kip_data():
    d = digits_multiclass(n_train=200, n_test=50, seed=0, device="cpu", dtype=torch.float64)
    Y = one_hot(d.y_train, 10)
    return d.X_train[:20], Y[:20], d.X_train[20:80], Y[20:80]


def test_adversarial_kip_with_zero_eps_equals_kip_loss_and_gradient(kip_data):
    Xs, Ys, Xt, Yt = kip_data
    a = Xs.clone().requires_grad_(True)
    b = Xs.clone().requires_grad_(True)
    la, lb = kip_loss(a, Ys, Xt, Yt), adversarial_kip_loss(b, Ys, Xt, Yt, eps=0.0)
    la.backward()
    lb.backward()
    assert float(la) == float(lb)                                    # bit for bit: same batch, same code path
    assert torch.equal(a.grad, b.grad)


def test_robust_loss_dominates_and_targets_stay_in_ball(kip_data):
    Xs, Ys, Xt, Yt = kip_data
    adv = adversarial_targets(Xs, Ys, Xt, Yt, eps=0.1, steps=5)
    assert float((adv - Xt).abs().max()) <= 0.1 + 1e-7 and float(adv.min()) >= 0 and float(adv.max()) <= 1
    assert float(adversarial_kip_loss(Xs, Ys, Xt, Yt, eps=0.1, steps=5)) >= float(kip_loss(Xs, Ys, Xt, Yt))


def test_kip_interpolates_when_targets_are_support_points(kip_data):
    Xs, Ys, _, _ = kip_data
    assert float(kip_loss(Xs, Ys, Xs[:7], Ys[:7], ridge=1e-12)) < 1e-10
    torch.testing.assert_close(kip_predict(Xs, Ys, Xs, lambda a, b: relu_ntk(a, b), 0.0), Ys, rtol=0, atol=1e-8)


def test_distill_lowers_target_loss(kip_data):
    Xs, Ys, Xt, Yt = kip_data
    res = distill(Xs, Ys, Xt, Yt, steps=15, lr=0.02, batch_size=60, generator=torch.Generator().manual_seed(0))
    assert float(kip_loss(res.X, Ys, Xt, Yt)) < float(kip_loss(Xs, Ys, Xt, Yt))
    assert float(res.X.min()) >= 0 and float(res.X.max()) <= 1


def test_spectral_bias_low_frequencies_first():
    r = spectral_bias_circle(n=32, frequencies=(1, 2, 4), steps=100, record=50, width=0)
    lam = r["eigenvalues"]
    assert lam[0] > lam[1] > lam[2] > 0
    assert (r["theory"][:, -1][0] < r["theory"][:, -1][1] < r["theory"][:, -1][2])


@pytest.mark.slow
def test_transfer_success_rises_with_width():
    d = digits_binary((3, 8), n_train=200, n_test=150, seed=0, device="cpu", dtype=torch.float64)
    r = transfer_sweep(d, [8, 512], eps=0.15, steps=300, lr=0.5)
    assert r["kernel_robust"] < r["kernel_clean"] - 0.3               # the kernel attack works (seeded)
    assert r["transfer_success"][1] > r["transfer_success"][0]        # measured 0.92 -> 1.00
    assert r["function_distance"][1] < 0.5 * r["function_distance"][0]
