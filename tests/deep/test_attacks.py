"""Attacks: feasibility (ball and box, the spec's projection pitfall), linear closed forms, breaking an undefended
digits MLP, monotonicity in the number of steps, black-box never stronger than white-box."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from asymptotics.errors import InvalidParameter  # noqa: E402
from deep.attacks import (accuracy, apgd, apgd_checkpoints, fgsm, input_norm, linear_robust_margin,  # noqa: E402
                          linear_worst_case, pgd, project, project_l1_ball, random_search, robust_accuracy)
from deep.data import digits_multiclass  # noqa: E402
from deep.models import HomogeneousMLP  # noqa: E402

F64 = torch.float64


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def digits_mlp():
    """An undefended bias-free MLP on the ten digits (clean test accuracy ~ 95 %)."""
    torch.set_num_threads(1)
    data = digits_multiclass(seed=0, device="cpu")
    net = HomogeneousMLP(64, [128], out_features=10, generator=_gen(1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(300):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(data.X_train), data.y_train).backward()
        opt.step()
    return net, data.X_test[:300], data.y_test[:300]


ATTACK_CASES = [("fgsm", "linf"), ("fgsm", "l2"), ("fgsm", "l1"), ("pgd", "linf"), ("pgd", "l2"), ("pgd", "l1"),
                ("apgd", "linf"), ("apgd", "l2"), ("random_search", "linf")]


@pytest.mark.parametrize("name,norm", ATTACK_CASES)
def test_every_attack_stays_in_the_ball_and_the_box(digits_mlp, name, norm):
    net, X, y = digits_mlp
    eps = {"linf": 0.3, "l2": 1.5, "l1": 4.0}[norm]
    kwargs = {"fgsm": {}, "pgd": dict(steps=10, generator=_gen(), restarts=2),
              "apgd": dict(steps=20, generator=_gen()), "random_search": dict(queries=30, generator=_gen())}[name]
    if name != "random_search":
        kwargs["norm"] = norm
    attack = {"fgsm": fgsm, "pgd": pgd, "apgd": apgd, "random_search": random_search}[name]
    x_adv = attack(net, X[:100], y[:100], eps, **kwargs)
    # float32 rounding of (x + delta) - x: 1e-6 absolute on values <= 1 (spec oracle 8 uses 1e-7 in float64)
    assert float(input_norm(x_adv - X[:100], norm).max()) <= eps * (1 + 1e-6) + 1e-6
    assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0


def test_projection_fixes_the_reference_code_pitfall():
    # implicit_bias_robust.md §4: the reference code's min(max(delta, x - eps), x + eps) pushes a pixel at x = 0.65
    # (eps = 0.3) up by 0.35 > eps; the package's projection keeps |delta| <= eps and x + delta in [0, 1]
    x = torch.tensor([[0.65, 0.05, 0.95, 0.5]], dtype=F64)
    delta = torch.tensor([[0.1, -0.3, 0.3, -0.29]], dtype=F64)
    eps = 0.3
    buggy = torch.minimum(torch.maximum(delta.clamp(-eps, eps), x - eps), x + eps)
    buggy = (x + buggy).clamp(0, 1) - x
    assert float(buggy.abs().max()) > eps
    ours = project(delta, x, eps, "linf")
    assert float(ours.abs().max()) <= eps and float((x + ours).min()) >= 0 and float((x + ours).max()) <= 1
    torch.testing.assert_close(ours, torch.tensor([[0.1, -0.05, 0.05, -0.29]], dtype=F64))


def test_l1_ball_projection_matches_a_convex_solver():
    cp = pytest.importorskip("cvxpy")
    v = torch.randn(4, 7, generator=_gen(2), dtype=F64) * 2
    ours = project_l1_ball(v, 1.5).numpy()
    for row, target in zip(v.numpy(), ours):
        u = cp.Variable(7)
        cp.Problem(cp.Minimize(cp.sum_squares(u - row)), [cp.norm1(u) <= 1.5]).solve(solver=cp.CLARABEL)
        np.testing.assert_allclose(target, u.value, atol=1e-6)     # Clarabel accuracy ~1e-8
    inside = torch.tensor([[0.1, -0.2]], dtype=F64)
    assert torch.equal(project_l1_ball(inside, 1.0), inside)


@pytest.mark.parametrize("norm", ["linf", "l2", "l1"])
def test_pgd_reaches_the_closed_form_worst_case_of_a_linear_model(norm):
    # implicit_bias_robust.md §1.1 / §5.1: delta* = -eps y u*, robust margin y<w,x> - eps ||w||_{p*}
    gen = _gen(3)
    d = 12
    w = torch.randn(d, generator=gen, dtype=F64)
    X = torch.randn(20, d, generator=gen, dtype=F64)
    y = torch.sign(torch.randn(20, generator=gen, dtype=F64))
    eps = 0.4
    model = lambda z: z @ w  # noqa: E731
    x_adv = pgd(model, X, y, eps, norm, steps=60, step_size=eps / 4, loss="exp", generator=gen, box=None,
                l1_fraction=1e-9)
    reached = (y * (x_adv @ w)).numpy()
    closed = linear_robust_margin(w.numpy(), X.numpy(), y.numpy(), eps, norm, box=None)
    np.testing.assert_allclose(reached, closed, rtol=0, atol=1e-6)   # exact for linf/l1; l2 converges geometrically
    delta_star = linear_worst_case(w.numpy(), X.numpy(), y.numpy(), eps, norm, box=None)
    np.testing.assert_allclose((x_adv - X).numpy(), delta_star, atol=1e-4)


def test_fgsm_is_exact_on_a_linear_model_and_the_flip_radius_is_abs_f_over_l1():
    gen = _gen(4)
    w = torch.randn(8, generator=gen, dtype=F64)
    X = torch.randn(30, 8, generator=gen, dtype=F64)
    y = torch.sign(X @ w)
    model = lambda z: z @ w  # noqa: E731
    radius = (X @ w).abs() / w.abs().sum()                     # minimal flipping linf radius (spec deep §0.3)
    for factor, flipped in ((1.001, 1.0), (0.999, 0.0)):
        fooled = []
        for i in range(30):
            x_adv = fgsm(model, X[i:i + 1], y[i:i + 1], float(radius[i]) * factor, box=None)
            fooled.append(float((y[i] * model(x_adv)).item() <= 0))
        assert np.mean(fooled) == flipped


def test_undefended_digits_mlp_breaks_under_small_linf_attacks(digits_mlp):
    # spec deep oracle 9 guesses "PGD-10 at linf eps = 0.1 -> robust accuracy < 10 %". On scikit-learn's coarse 8 x 8
    # digits (pixels / 16) the measured value at eps = 0.1 is 0.27 and APGD-100 (CE or DLR) gives the same, so the
    # attack is not the limit: the guess transfers at eps = 0.15 (measured 0.03). Both facts are asserted.
    net, X, y = digits_mlp
    clean = accuracy(net, X, y)
    assert clean > 0.9
    at_01 = robust_accuracy(net, X, y, 0.1, attack="pgd", steps=10, generator=_gen())
    assert at_01 < 0.35 < clean
    assert robust_accuracy(net, X, y, 0.1, attack="apgd", steps=50, generator=_gen()) == pytest.approx(at_01, abs=0.03)
    assert robust_accuracy(net, X, y, 0.15, attack="pgd", steps=10, generator=_gen()) < 0.10
    assert robust_accuracy(net, X, y, 0.0) == clean


def test_more_pgd_steps_never_raise_robust_accuracy_beyond_noise(digits_mlp):
    net, X, y = digits_mlp
    eps = 0.03
    accs = [robust_accuracy(net, X, y, eps, steps=k, step_size=eps / 4, generator=_gen(5)) for k in (1, 3, 10, 30)]
    # noise: 2 % of 300 points; the best-iterate rule makes the sequence monotone up to random-start effects
    assert all(b <= a + 0.02 for a, b in zip(accs, accs[1:]))
    assert accs[-1] < accs[0]


def test_black_box_search_is_never_stronger_than_white_box(digits_mlp):
    net, X, y = digits_mlp
    eps = 0.05
    white = robust_accuracy(net, X, y, eps, steps=20, generator=_gen())
    black = robust_accuracy(net, X, y, eps, attack="random_search", queries=150, generator=_gen())
    strong = robust_accuracy(net, X, y, eps, attack="apgd", steps=40, generator=_gen())
    assert black >= white - 0.03 and strong <= white + 0.03
    assert black < accuracy(net, X, y)                      # the search does find some adversarial examples


def test_targeted_pgd_reaches_the_target(digits_mlp):
    net, X, y = digits_mlp
    target = (y + 1) % 10
    x_adv = pgd(net, X[:100], y[:100], 0.3, steps=20, targeted=True, target=target[:100], generator=_gen())
    with torch.no_grad():
        hit = (net(x_adv).argmax(1) == target[:100]).double().mean()
    assert float(hit) > 0.9


def test_custom_loss_and_binary_outputs():
    gen = _gen(6)
    w = torch.randn(5, generator=gen)
    X = torch.rand(10, 5, generator=gen)
    y = torch.sign(X @ w - float((X @ w).mean()))
    model = lambda z: z @ w - float((X @ w).mean())  # noqa: E731
    margin_loss = lambda out, labels: -labels * out  # noqa: E731
    a = pgd(model, X, y, 0.1, loss=margin_loss, random_start=False, steps=5)
    b = pgd(model, X, y, 0.1, loss="margin", random_start=False, steps=5)
    torch.testing.assert_close(a, b)


def test_apgd_checkpoints_follow_the_schedule():
    assert apgd_checkpoints(100) == [22, 41, 58, 70, 80, 87, 93, 99]


@pytest.mark.parametrize("kwargs", [dict(norm="l3"), dict(eps=-0.1), dict(steps=-1), dict(loss="hinge"),
                                    dict(targeted=True), dict(box=(1, 0))])
def test_bad_attack_arguments_raise(kwargs):
    X, y = torch.rand(3, 2), torch.ones(3)
    args = {"eps": 0.1, **kwargs}
    with pytest.raises(InvalidParameter):
        pgd(lambda z: z.sum(1), X, y, **args)


def test_inputs_outside_the_box_are_rejected():
    with pytest.raises(InvalidParameter):
        pgd(lambda z: z.sum(1), torch.full((2, 2), 2.0), torch.ones(2), 0.1)
    x_adv = pgd(lambda z: z.sum(1), torch.full((2, 2), 2.0), torch.ones(2), 0.1, box=None, random_start=False)
    assert math.isclose(float(x_adv.max()), 1.9, rel_tol=1e-6)
