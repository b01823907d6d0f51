import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

from asymptotics.errors import InvalidParameter  # noqa: E402
from deep.icl_markov.sampler import (ChainPrior, lifted_chain, sample_batch, sample_dirichlet,  # noqa: E402
                                     sample_doubly_stochastic, sample_gamma, sample_sequences, sample_transitions,
                                     stationary_distribution)

CPU = torch.device("cpu")


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("alpha", [0.3, 1.0, 2.5])
def test_dirichlet_rows_on_simplex_with_mean_one_over_k(alpha):
    rows = sample_dirichlet((20000,), 4, alpha, gen(), CPU)
    assert (rows >= 0).all()
    assert torch.allclose(rows.sum(-1), torch.ones(20000, dtype=torch.float64), atol=1e-12)
    # mean 1/k; sd of one coordinate <= 1/2, so 5 standard errors of the mean are < 5 * 0.5 / sqrt(20000) = 0.018
    assert torch.allclose(rows.mean(0), torch.full((4,), 0.25, dtype=torch.float64), atol=0.018)
    # variance of a Dir(alpha 1_k) coordinate: (1/k)(1-1/k)/(k alpha + 1); relative tolerance 10 % (MC)
    var = 0.25 * 0.75 / (4 * alpha + 1)
    assert abs(float(rows[:, 0].var()) / var - 1) < 0.1


def test_gamma_sampler_moments():
    for a in (0.4, 3.0):
        draws = sample_gamma(torch.full((100000,), a, dtype=torch.float64), gen(1))
        # mean a, sd sqrt(a); 5 standard errors
        assert abs(float(draws.mean()) - a) < 5 * np.sqrt(a / 100000)


def test_stationary_distribution_is_left_eigenvector():
    P = sample_transitions(ChainPrior(), 50, 5, gen(), CPU)
    pi = stationary_distribution(P)
    assert torch.allclose((pi[:, None, :] @ P)[:, 0], pi, atol=1e-12)
    assert torch.allclose(pi.sum(-1), torch.ones(50, dtype=torch.float64), atol=1e-12)


def test_first_token_follows_stationary_law_chi_square():
    P = sample_transitions(ChainPrior(), 1, 3, gen(3), CPU)
    pi = stationary_distribution(P)[0].numpy()
    tokens = sample_sequences(P.expand(20000, 3, 3).contiguous(), 2, gen(4))
    counts = np.bincount(tokens[:, 0].numpy(), minlength=3)
    # chi-square goodness of fit; a correct sampler fails with probability 1e-4
    assert stats.chisquare(counts, pi * counts.sum()).pvalue > 1e-4


def test_transitions_follow_the_row_law_chi_square():
    P = sample_transitions(ChainPrior(), 1, 3, gen(5), CPU)
    tokens = sample_sequences(P.expand(4000, 3, 3).contiguous(), 6, gen(6)).numpy()
    prev, nxt = tokens[:, :-1].ravel(), tokens[:, 1:].ravel()
    for i in range(3):
        counts = np.bincount(nxt[prev == i], minlength=3)
        assert stats.chisquare(counts, P[0, i].numpy() * counts.sum()).pvalue > 1e-4


def test_sequences_are_stationary_at_every_position():
    P = sample_transitions(ChainPrior(), 1, 3, gen(7), CPU)
    pi = stationary_distribution(P)[0].numpy()
    tokens = sample_sequences(P.expand(20000, 3, 3).contiguous(), 10, gen(8)).numpy()
    counts = np.bincount(tokens[:, 9], minlength=3)
    assert stats.chisquare(counts, pi * counts.sum()).pvalue > 1e-4


def test_trigram_initial_tuple_is_stationary_for_lifted_chain():
    P = sample_transitions(ChainPrior(order=3), 1, 2, gen(9), CPU)          # 4 contexts
    lifted = lifted_chain(P, 2)
    pi = stationary_distribution(lifted)[0].numpy()
    tokens = sample_sequences(P.expand(20000, 4, 2).contiguous(), 6, gen(10)).numpy()
    for start in (0, 3):                                                    # stationary at the start and later
        ids = tokens[:, start] * 2 + tokens[:, start + 1]                   # oldest token most significant
        counts = np.bincount(ids, minlength=4)
        assert stats.chisquare(counts, pi * counts.sum()).pvalue > 1e-4


def test_doubly_stochastic_sampler_rows_and_columns_sum_to_one():
    for k in (3, 4, 6):
        mats = sample_doubly_stochastic(200, k, gen(k), CPU)
        assert mats.shape == (200, k, k)
        assert (mats >= 0).all()
        assert torch.allclose(mats.sum(-1), torch.ones(200, k, dtype=torch.float64), atol=1e-6)
        assert torch.allclose(mats.sum(-2), torch.ones(200, k, dtype=torch.float64), atol=1e-6)


def test_doubly_stochastic_entries_have_mean_one_over_k():
    mats = sample_doubly_stochastic(20000, 3, gen(11), CPU)
    # uniform on the Birkhoff polytope is symmetric under permutations: every entry has mean 1/3; SE < 0.003
    assert torch.allclose(mats.mean(0), torch.full((3, 3), 1 / 3, dtype=torch.float64), atol=0.01)


def test_unigram_prior_has_identical_rows():
    P = sample_transitions(ChainPrior("unigram"), 30, 4, gen(12), CPU)
    assert torch.equal(P, P[:, :1].expand_as(P))


def test_batch_shapes_and_next_token_law():
    batch = sample_batch(16, 21, 3, ChainPrior(order=3), generator=gen(13))
    assert batch.tokens.shape == (16, 21) and batch.transitions.shape == (16, 9, 3)
    law = batch.next_token_law(19)
    ctx = batch.tokens[:, 18] * 3 + batch.tokens[:, 19]
    assert torch.equal(law, batch.transitions[torch.arange(16), ctx])


def test_same_seed_same_batch():
    a = sample_batch(8, 30, 3, generator=gen(14))
    b = sample_batch(8, 30, 3, generator=gen(14))
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.transitions, b.transitions)


@pytest.mark.parametrize("kwargs,name", [
    (dict(kind="beta"), "kind"), (dict(alpha=0.0), "alpha"), (dict(order=1), "order"),
    (dict(kind="unigram", order=3), "order")])
def test_invalid_prior_names_parameter(kwargs, name):
    with pytest.raises(InvalidParameter) as err:
        ChainPrior(**kwargs)
    assert err.value.parameter == name


def test_invalid_batch_arguments():
    with pytest.raises(InvalidParameter, match="k"):
        sample_batch(4, 10, 1, generator=gen())
    with pytest.raises(InvalidParameter, match="generator"):
        sample_batch(4, 10, 3, generator=None)


def test_importing_deep_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, deep, deep.icl_markov, deep.grokking; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
