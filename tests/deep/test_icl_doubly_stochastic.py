"""Doubly stochastic prior (spec deep_icl_grokking.md §A.1): exact sums, the spec's law, usable at k >= 5."""
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

from asymptotics.errors import ConvergenceError  # noqa: E402
from deep.icl_markov.sampler import sample_doubly_stochastic  # noqa: E402

F64 = torch.float64


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _cube_rejection(batch, k, generator):
    """The spec's sampler verbatim: block i.i.d. U[0,1], kept when the completed matrix is non-negative."""
    out = []
    while sum(len(o) for o in out) < batch:
        b = torch.rand(20000, k - 1, k - 1, generator=generator, dtype=F64)
        ok = (b.sum(-1) <= 1).all(-1) & (b.sum(-2) <= 1).all(-1) & (b.sum((-1, -2)) >= k - 2)
        b = b[ok]
        full = torch.zeros(len(b), k, k, dtype=F64)
        full[:, :k - 1, :k - 1] = b
        full[:, :k - 1, k - 1] = 1 - b.sum(-1)
        full[:, k - 1, :k - 1] = 1 - b.sum(-2)
        full[:, k - 1, k - 1] = b.sum((-1, -2)) - (k - 2)
        out.append(full)
    return torch.cat(out)[:batch]


@pytest.mark.parametrize("k", [2, 3, 4, 5, 6, 8])
def test_rows_and_columns_sum_to_one_and_entries_are_nonnegative(k):
    mats = sample_doubly_stochastic(300, k, _gen(k))
    assert mats.shape == (300, k, k) and mats.dtype == F64
    assert float(mats.min()) >= 0.0
    # rows: one division by a sum of k terms; columns: k rounding errors per sum, or Sinkhorn's tol = 1e-14
    assert float((mats.sum(-1) - 1).abs().max()) <= 1e-12
    assert float((mats.sum(-2) - 1).abs().max()) <= 1e-12


@pytest.mark.parametrize("k", [5, 8])
def test_mean_matrix_is_uniform_within_five_standard_errors(k):
    # both laws are exchangeable under row and column permutations, so E P = J / k
    n = 4000
    mats = sample_doubly_stochastic(n, k, _gen(100 + k))
    se = mats.std(0) / n ** 0.5
    assert bool(((mats.mean(0) - 1.0 / k).abs() <= 5 * se).all())


@pytest.mark.parametrize("k", [3, 4])
def test_small_k_law_equals_the_spec_cube_rejection(k):
    # same law (uniform on the Birkhoff polytope) by two different proposals: two-sample KS on an inner entry and on
    # the last (completed) entry; fixed seeds, so the p-value threshold 1e-3 is a deterministic check
    n = {3: 4000, 4: 1500}[k]                  # the cube's acceptance at k = 4 is 1e-3: keep its cost down
    ours = sample_doubly_stochastic(n, k, _gen(7))
    spec = _cube_rejection(n, k, _gen(8))
    for i, j in ((0, 0), (k - 1, k - 1), (0, k - 1)):
        assert stats.ks_2samp(ours[:, i, j].numpy(), spec[:, i, j].numpy()).pvalue > 1e-3


def test_k5_is_exchangeable_between_the_free_block_and_the_completed_row():
    # the proposal treats the last row specially; uniformity on the polytope makes P_11 and P_kk equal in law
    mats = sample_doubly_stochastic(8000, 5, _gen(9))
    a, b = mats[:4000, 0, 0].numpy(), mats[4000:, 4, 4].numpy()
    assert stats.ks_2samp(a, b).pvalue > 1e-3


def test_same_generator_state_gives_the_same_matrices():
    assert torch.equal(sample_doubly_stochastic(50, 5, _gen(3)), sample_doubly_stochastic(50, 5, _gen(3)))


def test_unbalanced_sinkhorn_raises_convergence_error():
    with pytest.raises(ConvergenceError, match="Sinkhorn"):
        sample_doubly_stochastic(10, 8, _gen(0), max_iterations=1)
