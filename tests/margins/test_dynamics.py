"""Steepest-descent dynamics: exact rays (oracle A), oracle B limits, numba = numpy, monotone smoothed margin,
log-space long runs, diagonal networks, robust-ERM limits (spec margins §3.4, §7.5; robust spec §5.5)."""
import math

import numpy as np
import pytest

import asymptotics
from asymptotics import InvalidParameter
from simulate.steepest import diagonal_descent, reference_descent, steepest_descent

from .conftest import random_separable, robust_reference_data

RAYS = {"l2": (1.0, 2.0), "linf": (1.0, 1.0), "l1": (0.0, 1.0), "l3": (1.0, math.sqrt(2.0))}  # lp: |z|^{r-1}, r=1.5


def _unit(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


@pytest.mark.parametrize("norm", list(RAYS))
@pytest.mark.parametrize("normalized", [False, True])
@pytest.mark.parametrize("schedule", ["constant", "loss_scaled"])
def test_oracle_a_iterates_stay_on_their_ray(norm, normalized, schedule):
    run = steepest_descent([[1.0, 2.0]], [1.0], norm=norm, steps=500, lr=0.05, normalized=normalized,
                           schedule=schedule, checkpoints=np.arange(1, 501), max_lr=1.0)
    # every iterate is a positive multiple of the ray: exact up to rounding of the accumulated sums
    np.testing.assert_allclose(run.w, np.broadcast_to(_unit(RAYS[norm]), run.w.shape), atol=1e-13)


@pytest.mark.parametrize("norm,own,gamma,tol", [("linf", "margin_linf", 3.0, 1e-12), ("l1", "margin_l1", 1.75, 3e-4),
                                                ("l2", "margin_l2", math.sqrt(5), 1e-6)])
def test_oracle_b_normalized_runs_reach_their_own_max_margin(oracle_b, norm, own, gamma, tol):
    # spec §3.4 reference run: normalized steps, eta = 0.01, 2e5 steps; sign exact, CD error 1.4e-4 in the
    # direction (margin gap 1.4e-4), GD gamma_2 within 2e-7 of sqrt 5; tolerances are set above those numbers
    X, y = oracle_b
    run = steepest_descent(X, y, norm=norm, steps=200_000, lr=0.01, normalized=True, checkpoints=20)
    assert run[own][-1] == pytest.approx(gamma, abs=tol)
    for other, value in (("margin_l2", math.sqrt(5)), ("margin_linf", 3.0), ("margin_l1", 1.75)):
        assert run[other][-1] <= value + 1e-9                      # nobody beats a max margin
        if other != own:
            assert run[other][-1] < value - 0.01                   # and the other flavours stay below theirs


CONFIGS = [
    dict(norm="l2"), dict(norm="linf", normalized=True), dict(norm="l1"), dict(norm="l3", schedule="loss_scaled"),
    dict(norm="l2", loss="logistic"), dict(norm="linf", eps=0.05, attack="linf", normalized=True),
    dict(norm="l1", eps=0.05, attack="l2", loss="logistic", schedule="loss_scaled"),
    dict(norm="l2", model="diagonal", depth=2), dict(norm="linf", model="diagonal", depth=3, normalized=True),
    dict(norm="l1", model="diagonal", depth=2, schedule="loss_scaled", lr=0.05),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_numba_kernel_matches_numpy_reference(config):
    X, y = random_separable(4, m=15, d=12)
    config = dict(config)
    model = config.pop("model", "linear")
    depth = config.pop("depth", 1)
    kw = dict(steps=300, lr=config.pop("lr", 0.02), checkpoints=15, **config)
    if model == "diagonal":
        fast = diagonal_descent(X, y, depth=depth, init_scale=0.5, **kw)
    else:
        fast = steepest_descent(X, y, **kw)
    slow = reference_descent(X, y, model=model, depth=depth, init_scale=0.5, **kw)
    for name in fast.stats:                 # same maths, different summation order: rounding-level agreement
        np.testing.assert_allclose(fast[name][1:], slow[name][1:], rtol=1e-9, atol=1e-11, err_msg=name)
    np.testing.assert_allclose(fast.w[1:], slow.w[1:], rtol=1e-9, atol=1e-11)


def test_batch_equals_individual_runs():
    data = [random_separable(s, m=10, d=8) for s in range(3)]
    X = np.stack([d[0] for d in data])
    y = np.stack([d[1] for d in data])
    batch = steepest_descent(X, y, norm="linf", steps=200, lr=[0.01, 0.02, 0.03], normalized=True, checkpoints=5)
    for b in range(3):
        one = steepest_descent(X[b], y[b], norm="linf", steps=200, lr=0.01 * (b + 1), normalized=True, checkpoints=5)
        np.testing.assert_array_equal(batch.w[b], one.w)


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
def test_smoothed_margin_non_decreasing_after_loss_below_one_violations_shrink_with_step(norm):
    X, y = random_separable(7, m=10, d=20)
    worst = []
    scale = 0.1 if norm == "linf" else 1.0        # the unnormalised sign step ||g||_1 sign(g) is ~d times larger
    for lr in (0.04 * scale, 0.01 * scale):
        steps = int(40 * scale / lr)
        run = steepest_descent(X, y, norm=norm, steps=steps, lr=lr, checkpoints=np.arange(steps + 1))
        after = run["log_loss"] < 0.0                                   # L < 1 = l(0): separability threshold
        assert after[-1]
        smooth = run["smoothed_margin_own"][after]
        worst.append(max(0.0, float(-np.min(np.diff(smooth)))))
    # O(eta) violations for discrete steps (spec §7.5 item 5): the smaller step has smaller (or no) violations
    assert worst[1] <= worst[0] / 2 or worst[1] < 1e-12


def test_million_steps_in_log_space_do_not_underflow(oracle_b):
    X, y = oracle_b
    run = steepest_descent(X, y, norm="linf", steps=1_000_000, lr=0.01, normalized=True, checkpoints=10)
    # q_min grows like 3 * 0.01 * t: loss ~ e^{-30000}, far below the float64 range, still exact in log space
    assert run["log_loss"][-1] == pytest.approx(-30_000.0, rel=1e-3)
    assert run["margin_linf"][-1] == pytest.approx(3.0, abs=1e-12)
    assert np.isfinite(run["smoothed_margin_own"][1:]).all() and np.isfinite(run["beta"][1:]).all()


@pytest.mark.parametrize("norm,expected", [("l2", (1.0, 3.0)), ("linf", (1.0, 1.0))])
def test_diagonal_net_oracle_b_directions(oracle_b, norm, expected):
    # spec §3.4: u^2 - v^2, init 1e-2, normalized steps, eta = 2e-3, 4e5 steps: GD -> l1 max margin (1, 3)/4,
    # sign -> linf (1, 1); direction tolerance 1e-5 (observed ~5e-7)
    X, y = oracle_b
    run = diagonal_descent(X, y, norm=norm, depth=2, init_scale=1e-2, steps=400_000, lr=2e-3, normalized=True,
                           checkpoints=5)
    np.testing.assert_allclose(run.w[-1], _unit(expected), atol=1e-5)


def test_diagonal_net_coordinate_descent_is_sparse(oracle_b):
    X, y = oracle_b
    run = diagonal_descent(X, y, norm="l1", depth=2, init_scale=1e-2, steps=100_000, lr=2e-3, normalized=True,
                           checkpoints=5)
    assert np.sum(np.abs(run.w[-1]) > 1e-6) == 1


def test_loss_scaled_diagonal_run_survives_exponential_norm_growth():
    X, y = robust_reference_data()
    run = diagonal_descent(X, y, norm="l2", depth=2, init_scale=1e-3, steps=200_000, lr=5e-3,
                           schedule="loss_scaled", checkpoints=10)
    assert run["log_norm_own"][-1] > 300           # ||theta|| ~ e^300: would overflow without renormalisation
    # the loss itself leaves float64 (log L = -inf once q_min > 1e308) but the direction dynamics go on
    assert not np.isnan(run["log_loss"]).any() and np.isfinite(run["margin_l1"][1:]).all()
    # slow approach to the l1 max margin 0.4431 (1e6 steps: 0.4405); 0.015 covers rounding-order changes of the path
    assert run["margin_l1"][-1] == pytest.approx(asymptotics.robust_separability_radius(X, y), abs=1.5e-2)


def test_robust_erm_limits_spec_5_5():
    # robust spec §5.5 item 4: eps = eps*/2, 1e5 loss-scaled steps eta = 1/((max||x||_inf + eps)^2 L) (/sqrt d for GD)
    X, y = robust_reference_data()
    eps_star = asymptotics.robust_separability_radius(X, y)
    eps = 0.5 * eps_star
    base = 1.0 / (np.abs(X).max() + eps) ** 2
    p2 = asymptotics.max_margin(X, y, norm="l2", eps=eps, attack="linf")
    p1 = asymptotics.max_margin(X, y, norm="l1", eps=eps, attack="linf")
    gd = steepest_descent(X, y, norm="l2", steps=100_000, lr=base / math.sqrt(30), schedule="loss_scaled",
                          eps=eps, attack="linf", checkpoints=5)
    cd = steepest_descent(X, y, norm="l1", steps=100_000, lr=base, schedule="loss_scaled", eps=eps,
                          attack="linf", checkpoints=5)
    assert float(gd.w[-1] @ p2.w) / np.linalg.norm(p2.w) > 0.99999          # spec: 0.999999
    assert gd["robust_margin_l2"][-1] == pytest.approx(p2.margin, abs=2e-3)   # spec: 0.5934 vs 0.5943
    assert float(cd.w[-1] @ p1.w) / np.linalg.norm(p1.w) > 0.9999            # spec: 0.99998 (clean l1 direction)
    assert cd["robust_margin_l1"][-1] == pytest.approx(p1.margin, abs=1e-3)   # spec: 0.22115 vs 0.22155
    assert p1.margin == pytest.approx(eps_star - eps, abs=1e-12)


@pytest.mark.parametrize("kwargs,name", [
    (dict(norm=[1.0, 2.0]), "norm"), (dict(lr=-1.0), "lr"), (dict(schedule="cosine"), "schedule"),
    (dict(loss="hinge"), "loss"), (dict(steps=0), "steps"), (dict(eps=-0.1), "eps"),
    (dict(normalized=True, schedule="loss_scaled"), "max_lr"),
])
def test_bad_parameters_raise_before_running(oracle_b, kwargs, name):
    X, y = oracle_b
    with pytest.raises(InvalidParameter) as info:
        steepest_descent(X, y, **kwargs)
    assert info.value.parameter == name
