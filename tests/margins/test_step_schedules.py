"""Step-size schedules that keep discrete steepest descent on the flow: the decayed loss-scaled step of
``simulate.steepest`` and the dual-scaled step of ``deep.optim.SteepestDescent``."""
import math

import numpy as np
import pytest

from asymptotics import InvalidParameter
from simulate.steepest import reference_descent, steepest_descent

from .conftest import random_separable


@pytest.mark.parametrize("norm", ["l1", "linf", "l2"])
def test_decayed_loss_scaled_kernel_matches_numpy_twin(norm):
    X, y = random_separable(3, m=12, d=20)
    kw = dict(norm=norm, steps=400, lr=0.5, schedule="loss_scaled", checkpoints=8, decay=0.5)
    fast, ref = steepest_descent(X, y, **kw), reference_descent(X, y, **kw)
    # same arithmetic in numba and numpy: equal up to accumulated rounding over 400 steps
    np.testing.assert_allclose(fast["log_loss"], ref["log_loss"], rtol=1e-9)
    np.testing.assert_allclose(fast.w, ref.w, atol=1e-10)


def test_decay_shrinks_the_cd_flow_gap_plateau():
    # constant loss-scaled CD resolves coordinate ties only to O(c): its gap 1 - beta stays flat; decay 1/2 lets it
    # fall (figure margin_gap_random: 40x). Here, 2e4 steps on one random problem: >= 5x below the constant run.
    X, y = random_separable(5, m=20, d=50)
    B = np.max(np.abs(X).max(axis=1))
    const = steepest_descent(X, y, norm="l1", steps=20_000, lr=1 / B ** 2, schedule="loss_scaled", checkpoints=5)
    decay = steepest_descent(X, y, norm="l1", steps=20_000, lr=10 / B ** 2, schedule="loss_scaled", checkpoints=5,
                             decay=0.5)
    assert (1 - decay["beta"][-1]) * 5 <= 1 - const["beta"][-1]


def test_negative_decay_is_rejected():
    X, y = random_separable(0, m=4, d=5)
    with pytest.raises(InvalidParameter, match="decay"):
        steepest_descent(X, y, decay=-0.1)


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
def test_dual_scaled_step_lowers_the_objective_by_lr_to_first_order(norm):
    torch = pytest.importorskip("torch")
    from deep.optim import SteepestDescent
    from deep.optim.norms import parse_norm

    w = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))
    g = torch.tensor([0.3, -1.2, 0.05], dtype=torch.float64)
    opt = SteepestDescent([w], lr=0.1, norm=norm, normalized=True, lr_schedule="dual_scaled")
    before = w.detach().clone()
    w.grad = g.clone()
    opt.step()
    step = w.detach() - before
    # <g, lr_t Delta_nsd> = -lr exactly (Delta_nsd attains the dual norm), and ||step|| = lr / ||g||_*
    assert float(g @ step) == pytest.approx(-0.1, rel=1e-12)
    geo = parse_norm(norm)
    assert float(geo.norm([step])) == pytest.approx(0.1 / float(geo.dual_norm([g])), rel=1e-12)


def test_dual_scaled_step_is_capped_by_max_lr():
    torch = pytest.importorskip("torch")
    from deep.optim import SteepestDescent

    w = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    w.grad = torch.tensor([1e-9, -1e-9], dtype=torch.float64)       # tiny gradient: c/||g||_1 = 5e7
    SteepestDescent([w], lr=0.1, norm="linf", normalized=True, lr_schedule="dual_scaled", max_lr=0.01).step()
    assert torch.equal(w.detach(), torch.tensor([-0.01, 0.01], dtype=torch.float64))
    assert math.isfinite(float(w.detach().abs().max()))
