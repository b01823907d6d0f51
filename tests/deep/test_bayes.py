"""BNN inference, uncertainty and attacks (spec §4.5, oracles 13-15)."""
import math

import pytest

torch = pytest.importorskip("torch")

from deep.attacks import pgd  # noqa: E402
from deep.bayes import (DeterministicPosterior, DropoutMLP, EnsemblePosterior,  # noqa: E402
                        ParameterSamplesPosterior, PosteriorPredictive, StochasticPosterior, attack_predictive,
                        auroc, bnn_hmc, draw_indices, hmc, log_predictive_mean, mutual_information,
                        predictive_rhat, split_rhat, uncertainty_attack)
from asymptotics.errors import InvalidParameter  # noqa: E402
from deep.models import HomogeneousMLP  # noqa: E402


def test_one_sample_bnn_attack_equals_deterministic_attack():
    torch.set_default_dtype(torch.float64)
    try:
        net = HomogeneousMLP(8, [16], 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        x = torch.rand(20, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        y = torch.arange(4).repeat(5)
        a = pgd(net, x, y, 0.1, steps=10, generator=torch.Generator().manual_seed(3))
        b = attack_predictive(DeterministicPosterior(net), x, y, 0.1, samples=1, steps=10,
                              generator=torch.Generator().manual_seed(3))
        c = attack_predictive(EnsemblePosterior([net]), x, y, 0.1, samples=1, steps=10,
                              generator=torch.Generator().manual_seed(3))
    finally:
        torch.set_default_dtype(torch.float32)
    assert torch.allclose(a, b, atol=1e-12) and torch.allclose(a, c, atol=1e-12)


def test_log_mean_via_logsumexp_matches_naive():
    lp = torch.log_softmax(torch.randn(7, 5, 3, generator=torch.Generator().manual_seed(0)), -1)
    assert torch.allclose(log_predictive_mean(lp), lp.exp().mean(0).log(), atol=1e-6)


def test_mutual_information_nonnegative_and_zero_for_identical_members():
    g = torch.Generator().manual_seed(0)
    lp = torch.log_softmax(3 * torch.randn(6, 50, 4, generator=g), -1)
    assert bool((mutual_information(lp) >= 0).all())
    same = lp[:1].expand(6, 50, 4)
    assert float(mutual_information(same).max()) < 1e-6          # float32 rounding of H - E H


def test_auroc_identical_and_separating_scores():
    assert auroc([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 0.5
    assert auroc([5.0, 6.0], [1.0, 2.0]) == 1.0


def test_fixed_samples_repeat_and_resampled_differ():
    m = DropoutMLP(4, [8], 3, p=0.5, generator=torch.Generator().manual_seed(0))
    x = torch.rand(5, 4)
    fixed = PosteriorPredictive(StochasticPosterior(m), 4, resample=False, seed=1)
    eot = PosteriorPredictive(StochasticPosterior(m), 4, resample=True, seed=1)
    assert torch.equal(fixed(x), fixed(x))
    assert not torch.equal(eot(x), eot(x))


def test_hmc_recovers_gaussian_mean_and_covariance():
    mu = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    A = torch.tensor([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.3, 0.5]], dtype=torch.float64)
    cov = A @ A.T
    prec = torch.linalg.inv(cov)

    def potential(th):
        d = th - mu
        return 0.5 * ((d @ prec) * d).sum(1)

    res = hmc(potential, torch.zeros(4, 3, dtype=torch.float64), num_samples=1000, burn_in=300, step_size=0.5,
              leapfrog_steps=8, generator=torch.Generator().manual_seed(0))
    s = res.samples.reshape(-1, 3)
    se = torch.sqrt(torch.diag(cov) / s.shape[0])
    assert bool(((s.mean(0) - mu).abs() < 6 * se).all())         # 6 SE of iid draws: allows autocorrelation ~<4
    assert torch.allclose(torch.cov(s.T), cov, atol=0.12)        # MC error of a 4000-draw covariance
    assert bool(((res.acceptance > 0.5) & (res.acceptance < 0.95)).all())
    assert res.rhat_max < 1.05


def _tiny_net():
    return HomogeneousMLP(3, [4], 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def _chains(offsets, S=400, seed=0, noise=0.3):
    """K chains of iid draws theta = base + offset_k v + noise z (z ~ N(0, I), v a fixed unit-variance direction)."""
    net = _tiny_net()
    base = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(len(offsets), S, base.numel(), generator=g, dtype=torch.float64)
    v = torch.randn(base.numel(), generator=g, dtype=torch.float64)
    off = torch.tensor(offsets, dtype=torch.float64)[:, None, None]
    return net, base + off * v + noise * z


def test_predictive_rhat_of_identically_distributed_chains_is_one():
    net, samples = _chains([0.0, 0.0, 0.0, 0.0])
    x = torch.rand(20, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    r = predictive_rhat(net, samples, x)
    # iid draws, 8 half-chains of 200: R-hat - 1 = O(1/n) plus sampling noise of a few 1e-3
    assert float((r - 1).abs().max()) < 0.02


def test_predictive_rhat_of_separated_chains_is_large():
    net, samples = _chains([-2.0, 0.0, 2.0, 4.0], noise=0.1)
    x = torch.rand(20, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = torch.zeros(20, dtype=torch.long)
    r = predictive_rhat(net, samples, x, y)
    assert r.shape == (20,)
    assert float(r.min()) > 2.0             # chains 20 within-chain sds apart along v


def test_split_rhat_identical_and_separated_chains():
    g = torch.Generator().manual_seed(0)
    same = torch.randn(4, 500, 3, generator=g, dtype=torch.float64)
    assert float((split_rhat(same) - 1).abs().max()) < 0.02
    apart = same + torch.arange(4, dtype=torch.float64)[:, None, None] * 3.0
    assert float(split_rhat(apart).min()) > 2.0


def test_draw_indices_without_generator_spread_over_all_chains():
    idx = draw_indices(400, 8, None)                 # pool of 4 chains x 100, chain-major
    assert sorted({i // 100 for i in idx}) == [0, 1, 2, 3]
    assert draw_indices(5, None, None) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("kind", ["ensemble", "samples"])
def test_eot_resampling_draws_distinct_members_and_fixed_draws_repeat(kind):
    nets = [HomogeneousMLP(3, [4], 2, generator=torch.Generator().manual_seed(k)) for k in range(6)]
    if kind == "ensemble":
        post = EnsemblePosterior(nets)
    else:
        flat = [torch.cat([p.detach().reshape(-1) for p in n.parameters()]) for n in nets]
        post = ParameterSamplesPosterior(nets[0], flat)
    x = torch.rand(7, 3, generator=torch.Generator().manual_seed(1))
    eot = PosteriorPredictive(post, 3, resample=True, seed=0)
    draws = [eot(x) for _ in range(4)]
    assert all(not torch.equal(draws[0], d) for d in draws[1:])   # 6^3 member triples: a repeat is a 1/216 event
    fixed = PosteriorPredictive(post, 3, resample=False, seed=0)
    assert torch.equal(fixed(x), fixed(x))
    other = PosteriorPredictive(post, 3, resample=False, seed=1)   # the scoring seed draws other members
    assert not torch.equal(fixed(x), other(x))


def test_bnn_hmc_starts_each_chain_at_its_own_point():
    net = _tiny_net()
    X = torch.rand(30, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    y = (X[:, 0] > 0.5).long()
    D = sum(p.numel() for p in net.parameters())
    starts = torch.stack([torch.full((D,), float(k)) for k in range(3)]).double()
    post, res = bnn_hmc(net, X, y, chains=3, num_samples=4, burn_in=0, step_size=1e-4, leapfrog_steps=1, init=starts,
                        generator=torch.Generator().manual_seed(0))
    # tiny steps: each chain stays within 1e-2 of its own start (start spacing 1)
    assert torch.allclose(res.samples[:, 0].mean(1), torch.arange(3, dtype=torch.float64), atol=1e-2)
    assert len(post.samples) == 12
    with pytest.raises(InvalidParameter):
        bnn_hmc(net, X, y, chains=2, init=starts)


def test_uncertainty_attack_reaches_an_explicit_target():
    # identity "net" (logits = inputs, inputs kept > 0 so no ReLU is dead): a 0.4 ball reaches any target class
    net = HomogeneousMLP(3, [3], 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        net.layers[0].weight.copy_(torch.eye(3))
        net.layers[1].weight.copy_(torch.eye(3))
    y = torch.arange(3).repeat(4)
    x = 0.5 + 0.3 * torch.nn.functional.one_hot(y, 3).float()
    target = (y + 2) % 3                                   # not the default (most likely wrong) class for all points
    adv = uncertainty_attack(EnsemblePosterior([net]), x, y, 0.4, lam=0.0, samples=1, steps=20, target=target,
                             generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(net(adv).argmax(1), target)
