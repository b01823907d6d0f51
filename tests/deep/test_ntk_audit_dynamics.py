"""Oracles for the attack audit (strong PGD, gradient-masking alarm) and the eNTK-trajectory summaries."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from deep.attacks import per_sample_loss, pgd  # noqa: E402
from deep.ntk.adversarial_dynamics import kernel_summary, settling_epoch  # noqa: E402
from deep.ntk.audit import audit, best_per_sample, masking_alarm, strong_pgd  # noqa: E402


def _mlp_and_data():
    gen = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 5)).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype))
    x = torch.rand(60, 20, generator=gen, dtype=torch.float64)
    y = net(x).argmax(1)                                   # every point starts correctly classified
    return net, x, y


def test_strong_pgd_loss_and_success_never_below_pgd10_on_a_fixed_mlp():
    net, x, y = _mlp_and_data()
    eps = 0.1
    weak = pgd(net, x, y, eps, steps=10, step_size=eps / 4, random_start=False)
    strong = strong_pgd(net, x, y, eps, steps=100, restarts=3, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        lw, ls = per_sample_loss(net(weak), y, "ce"), per_sample_loss(net(strong), y, "ce")
        fooled_w, fooled_s = net(weak).argmax(1) != y, net(strong).argmax(1) != y
    # more steps from the same start plus restarts: mean loss at least PGD-10's (exact inequality, tiny slack for
    # float64 rounding), and every point PGD-10 fools is fooled (success is ranked first per sample)
    assert float(ls.mean()) >= float(lw.mean()) - 1e-12
    assert bool((fooled_s | ~fooled_w).all())
    assert (strong - x).abs().max() <= eps + 1e-12 and 0.0 <= float(strong.min()) and float(strong.max()) <= 1.0


def test_best_per_sample_prefers_success_over_larger_loss():
    model = lambda z: z[:, 0]                                  # binary output; label +1 -> margin = z0
    x = torch.tensor([[0.5], [0.5]], dtype=torch.float64)
    y = torch.tensor([1.0, 1.0], dtype=torch.float64)
    a = torch.tensor([[-0.1], [0.2]], dtype=torch.float64)      # sample 0 fooled
    b = torch.tensor([[0.05], [0.1]], dtype=torch.float64)     # sample 1: larger logistic loss than a's
    best = best_per_sample(model, x, y, [a, b])
    assert best[:, 0].tolist() == [-0.1, 0.1]


def _toy(masked: bool):
    """Linear binary model ``f(x) = mean(x) - b``; ``masked`` reads the input through ``round(8 x)/8``, whose
    gradient is 0 almost everywhere (shattered gradients), so gradient attacks cannot move."""
    gen = torch.Generator().manual_seed(3)
    x = 0.2 + 0.6 * torch.rand(300, 20, generator=gen, dtype=torch.float64)
    b = float(x.mean(1).median())

    def model(z):
        z = torch.round(8 * z) / 8 if masked else z
        return z.mean(1) - b

    with torch.no_grad():
        y = torch.sign(model(x))
    keep = y != 0
    return model, x[keep], y[keep]


@pytest.mark.parametrize("masked, fires", [(True, True), (False, False)])
def test_masking_alarm_fires_on_shattered_gradients_only(masked, fires):
    model, x, y = _toy(masked)
    eps = 0.1
    gen = torch.Generator().manual_seed(4)
    from deep.attacks import random_search

    attacks = {"pgd10": lambda m, a, b: pgd(m, a, b, eps, steps=10, step_size=eps / 4, random_start=False),
               "square": lambda m, a, b: random_search(m, a, b, eps, queries=200, generator=gen)}
    res = audit(model, x, y, attacks, white=("pgd10",), black=("square",))
    # plain linear model: PGD-10 reaches the linf worst case (box corner), so no black-box success can exceed it;
    # masked model: PGD does not move (zero gradient) while the random search flips the points near the boundary
    assert masking_alarm(res, tolerance=0.01) is fires
    if not fires:
        assert res.masking()["any"] == 0.0 and res.accuracy("pgd10") <= res.accuracy("square")
    assert res.worst_case() <= min(res.accuracy(k) for k in res.robust)


def test_settling_epoch_on_an_exponential_distance_curve():
    tau, T = 5.0, 50
    epochs = np.arange(T + 1)
    d = np.exp(-epochs / tau) - math.exp(-T / tau)
    # closed form: first t with exp(-t/tau) - e^{-T/tau} <= 0.1 d_0 (the curve is decreasing, so "for good")
    expected = math.ceil(-tau * math.log(0.1 * d[0] + math.exp(-T / tau)))
    assert settling_epoch(epochs, d, 0.1) == expected == 12


def test_settling_epoch_waits_for_a_late_excursion():
    d = [0.5, 0.3, 0.04, 0.06, 0.0]                    # back above 10 % of the max at epoch 3
    assert settling_epoch([0, 1, 2, 3, 4], d, 0.1) == 4
    assert settling_epoch([0, 1, 2, 3, 4], d, 0.2) == 2


def test_kernel_summary_identities_on_random_psd_kernels():
    gen = torch.Generator().manual_seed(0)
    A = [torch.randn(12, 30, generator=gen, dtype=torch.float64) for _ in range(4)]
    Ks = [a @ a.T for a in A]
    s = kernel_summary(Ks, top_k=3, mass_ks=(3, 12 - 1))
    assert s["dist_init"][0] == pytest.approx(0.0, abs=1e-12) and s["dist_final"][-1] == pytest.approx(0.0, abs=1e-12)
    for space in ("full", "top", "bottom"):
        assert s[f"radius_{space}"][0] == 0.0 and s[f"radius_{space}"][-1] == pytest.approx(1.0, rel=1e-12)
    H = np.asarray(s["heatmap"])
    assert np.allclose(H, H.T, atol=1e-12) and np.allclose(np.diag(H), 0.0, atol=1e-12)
    assert all(0.0 < m3 <= m11 <= 1.0 for m3, m11 in zip(s["mass"]["3"], s["mass"]["11"]))
    # m_k(I_n) = k/n (spec §1.5)
    assert kernel_summary([np.eye(10), 2 * np.eye(10) + np.ones((10, 10))], 2, (4,))["mass"]["4"][0] == \
        pytest.approx(0.4, rel=1e-12)
