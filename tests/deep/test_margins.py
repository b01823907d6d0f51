"""Margins: sandwich of the smoothed margin, no underflow, scale invariance, alignment, KKT at max margin."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
cp = pytest.importorskip("cvxpy")

from asymptotics.errors import InvalidParameter  # noqa: E402
from deep.margins import (MarginTracker, alignment, kkt_residual_network, log_loss, log_schedule,  # noqa: E402
                          margin_report, normalized_margin, output_margins, pair_margins, parameter_norm,
                          per_sample_gradients, smoothed_margin)
from deep.models import HomogeneousMLP  # noqa: E402

F64 = torch.float64


def _separable(m=10, d=20, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(m, d, generator=gen, dtype=F64)
    y = torch.sign(X @ torch.randn(d, generator=gen, dtype=F64))
    return X, y


def _linear(w):
    net = HomogeneousMLP(w.numel(), [], dtype=F64)
    with torch.no_grad():
        net.layers[0].weight.copy_(torch.as_tensor(w, dtype=F64).reshape(1, -1))
    return net


def _fitted_net(scale=1.0):
    """A 2-layer net with every training margin positive: labels are its own signs."""
    gen = torch.Generator().manual_seed(3)
    net = HomogeneousMLP(5, [16], generator=gen, dtype=F64)
    X = torch.randn(30, 5, generator=gen, dtype=F64)
    with torch.no_grad():
        y = torch.sign(net(X))
        for p in net.parameters():
            p.mul_(scale)
    return net, X, y


@pytest.mark.parametrize("norm", ["l1", "l2", "linf", "spectral"])
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_smoothed_margin_sandwich(norm, scale):
    # margins.md §1.4: gamma~ <= gamma <= gamma~ + log(m) / ||theta||^L for the exponential loss (m terms)
    net, X, y = _fitted_net(scale)
    q = output_margins(net(X), y).detach()
    rho = parameter_norm(net, norm)
    smooth = smoothed_margin(q, rho, 2)
    gamma = normalized_margin(net, X, y, norm)
    assert smooth <= gamma + 1e-15
    assert gamma <= smooth + math.log(len(q)) / rho ** 2 + 1e-15


def test_multiclass_sandwich_counts_every_pair():
    gen = torch.Generator().manual_seed(2)
    net = HomogeneousMLP(6, [12], out_features=4, generator=gen, dtype=F64)
    X = torch.randn(25, 6, generator=gen, dtype=F64)
    with torch.no_grad():
        y = net(X).argmax(1)
    report = margin_report(net, X, y, norms=("l2",))
    assert report["accuracy"] == 1.0 and pair_margins(net(X), y).shape == (25, 3)
    rho2 = report["norm_l2"] ** 2
    assert report["smoothed_l2"] <= report["margin_l2"] <= report["smoothed_l2"] + math.log(25 * 3) / rho2


def test_smoothed_margin_does_not_underflow_where_naive_log_does():
    net, X, y = _fitted_net(scale=1000.0)          # margins >= 2e3: exp(-q) underflows to 0 in float64
    q = output_margins(net(X), y).detach()
    assert float(torch.exp(-q).sum()) == 0.0        # the naive log(1 / L) would be inf
    rho = parameter_norm(net, "l2")
    smooth = smoothed_margin(q, rho, 2)
    assert math.isfinite(smooth) and smooth == pytest.approx(normalized_margin(net, X, y, "l2"), rel=1e-6)
    logistic = smoothed_margin(q, rho, 2, loss="logistic")
    assert math.isfinite(logistic) and logistic == pytest.approx(smooth, rel=1e-9)   # l ~ e^{-q} in the tail


def test_logistic_log_loss_matches_direct_formula_and_bounds():
    q = torch.tensor([-3.0, 0.0, 0.7, 5.0, 40.0], dtype=F64)
    direct = math.log(sum(math.log1p(math.exp(-v)) for v in q.tolist()))
    assert float(log_loss(q, "logistic")) == pytest.approx(direct, rel=1e-12)
    positive = torch.tensor([0.5, 2.0, 9.0], dtype=F64)
    # l^{-1}(sum l(q_i)) <= q_min for any decreasing loss
    assert smoothed_margin(positive, 1.0, 1, loss="logistic") <= 0.5


@pytest.mark.parametrize("norm", ["l1", "l2", "linf", "spectral"])
def test_normalized_margin_is_scale_invariant(norm):
    net, X, y = _fitted_net()
    before = normalized_margin(net, X, y, norm)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(7.0)
    assert normalized_margin(net, X, y, norm) == pytest.approx(before, rel=1e-12)


@pytest.mark.parametrize("norm,direction,gamma", [("l2", (1.0, 2.0), math.sqrt(5)), ("linf", (1.0, 1.0), 3.0),
                                                   ("l1", (0.0, 1.0), 2.0)])
def test_oracle_a_margins_and_unit_alignment(norm, direction, gamma):
    # margins.md §3.4 oracle A: z = (1, 2); the steepest ray attains gamma* and is perfectly aligned (beta = 1)
    X = torch.tensor([[1.0, 2.0]], dtype=F64)
    y = torch.tensor([1.0], dtype=F64)
    net = _linear(torch.tensor(direction) * 3.0)
    assert normalized_margin(net, X, y, norm) == pytest.approx(gamma, rel=1e-14)
    assert alignment(net, X, y, norm) == pytest.approx(1.0, abs=1e-14)


def test_alignment_is_at_most_one():
    net, X, y = _fitted_net()
    for norm in ("l1", "l2", "linf", "spectral", "l3"):
        assert 0 < alignment(net, X, y, norm) <= 1 + 1e-12


def _max_margin(Z, norm):
    w = cp.Variable(Z.shape[1])
    objective = {"l2": cp.sum_squares(w), "linf": cp.norm_inf(w), "l1": cp.norm1(w), "l3": cp.norm(w, 3)}[norm]
    cp.Problem(cp.Minimize(objective), [Z @ w >= 1]).solve(solver=cp.CLARABEL)
    return np.asarray(w.value)


@pytest.mark.parametrize("norm", ["l2", "linf", "l1", "l3"])
def test_kkt_residual_vanishes_at_the_max_margin_linear_model(norm):
    X, y = _separable()
    w = _max_margin((y[:, None] * X).numpy(), norm)
    net = _linear(torch.as_tensor(w))
    res = kkt_residual_network(net, X, y, norm, tau=1e-5)
    # Clarabel solves to ~1e-8; the residuals inherit that accuracy (1e-6 leaves two orders of room)
    assert res.alignment_gap < 1e-6 and res.fenchel_young < 1e-6 and abs(res.stationarity) < 1e-6
    assert abs(res.complementary_slackness) < 1e-6
    # KKT identity sum(lambda) = ||theta^||^2 / L (margins.md §1.5)
    assert res.multiplier_sum == pytest.approx(res.multiplier_target, rel=1e-5)
    # the same model rescaled by 10 has the same residuals (computed at theta / q_min^{1/L})
    with torch.no_grad():
        net.layers[0].weight.mul_(10.0)
    assert kkt_residual_network(net, X, y, norm, tau=1e-5).alignment_gap < 1e-6


def test_kkt_residual_is_large_away_from_the_max_margin():
    X, y = _separable()
    Z = (y[:, None] * X).numpy()
    w = _max_margin(Z, "l2") + 0.5 * _max_margin(Z, "l1")            # separating, not max-margin in l2
    res = kkt_residual_network(_linear(torch.as_tensor(w)), X, y, "l2")
    assert res.stationarity > 1e-2 and res.alignment_gap > 1e-4


def test_kkt_rejects_unfitted_data_and_oversized_models():
    X, y = _separable()
    net = _linear(-torch.ones(20))
    with pytest.raises(InvalidParameter):
        kkt_residual_network(net, X, y)
    net, X2, y2 = _fitted_net()
    with pytest.raises(InvalidParameter):
        kkt_residual_network(net, X2, y2, "linf", max_params=10)


def test_per_sample_gradients_match_a_loop():
    net, X, y = _fitted_net()
    H = per_sample_gradients(net, X, y, chunk_size=7)
    for i in (0, 13, 29):
        net.zero_grad()
        output_margins(net(X[i:i + 1]), y[i:i + 1])[0].backward()
        flat = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
        torch.testing.assert_close(H[i], flat, rtol=1e-12, atol=1e-12)


def test_tracker_logs_on_its_schedule():
    net, X, y = _fitted_net()
    tracker = MarginTracker(net, X, y, steps=log_schedule(100, 6), alignment_norms=("l2",), kkt_norms=("l2",),
                            X_test=X, y_test=y)
    logged = [s for s in range(101) if tracker(s) is not None]
    assert logged == log_schedule(100, 6) and logged[0] == 0 and logged[-1] == 100
    hist = tracker.to_dict()
    assert len(hist["margin_linf"]) == len(logged) and hist["test_accuracy"][0] == 1.0
    assert all(0 <= g <= 1 for g in hist["kkt_l2_alignment_gap"]) and "beta_l2" in hist
    every = MarginTracker(net, X, y, every=25)
    assert [s for s in range(101) if every.due(s)] == [0, 25, 50, 75, 100]


def test_bad_margin_arguments_raise():
    with pytest.raises(InvalidParameter):
        smoothed_margin(torch.ones(3), 0.0, 1)
    with pytest.raises(InvalidParameter):
        log_loss(torch.ones(3), "hinge")
    with pytest.raises(InvalidParameter):
        normalized_margin(torch.nn.Linear(2, 1), torch.ones(1, 2), torch.ones(1))     # no .order
    with pytest.raises(InvalidParameter):
        MarginTracker(_fitted_net()[0], torch.ones(1, 5), torch.ones(1), every=None)
