"""Steepest-descent optimizers: closed forms of margins.md §1.3, oracle A rays, Adam <-> sign, scopes, state."""
import math

import pytest

torch = pytest.importorskip("torch")

from asymptotics.errors import InvalidParameter  # noqa: E402
from deep.models import HomogeneousMLP  # noqa: E402
from deep.optim import GreedyCD, SignGD, SpectralDescent, SteepestDescent, make_optimizer, parse_norm  # noqa: E402

NORMS = ["l2", "linf", "l1", "l1.5", "l3", "spectral"]


def _one_step(norm, normalized, grads, scope="global"):
    """Run one lr = 1 step from theta = 0 with the given gradients; return the update tensors."""
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    SteepestDescent(params, lr=1.0, norm=norm, normalized=normalized, scope=scope).step()
    return [p.detach() for p in params]


@pytest.mark.parametrize("norm", NORMS)
def test_unnormalized_step_satisfies_duality_identities(norm):
    # Delta = argmin <g,u> + ||u||^2/2  <=>  <g, Delta> = -||g||_*^2 and ||Delta|| = ||g||_*  (spec §1.3)
    gen = torch.Generator().manual_seed(1)
    grads = [torch.randn(3, 4, generator=gen, dtype=torch.float64), torch.randn(5, generator=gen, dtype=torch.float64)]
    delta = _one_step(norm, False, grads)
    geo = parse_norm(norm)
    gdual = float(geo.dual_norm(grads))
    inner = sum(float((g * d).sum()) for g, d in zip(grads, delta))
    # float64 closed forms: agreement to ~1e-12 relative (l1: a single coordinate, exact)
    assert inner == pytest.approx(-gdual ** 2, rel=1e-10)
    assert float(geo.norm(delta)) == pytest.approx(gdual, rel=1e-10)


@pytest.mark.parametrize("norm", NORMS)
def test_normalized_step_is_unit_and_steepest(norm):
    gen = torch.Generator().manual_seed(2)
    grads = [torch.randn(4, 3, generator=gen, dtype=torch.float64), torch.randn(2, generator=gen, dtype=torch.float64)]
    delta = _one_step(norm, True, grads)
    geo = parse_norm(norm)
    assert float(geo.norm(delta)) == pytest.approx(1.0, rel=1e-10)
    inner = sum(float((g * d).sum()) for g, d in zip(grads, delta))
    assert inner == pytest.approx(-float(geo.dual_norm(grads)), rel=1e-10)   # Holder attained


def test_sign_and_coordinate_closed_forms_on_a_vector():
    g = torch.tensor([0.5, -3.0, 0.0, 1.0], dtype=torch.float64)
    assert torch.equal(_one_step("linf", True, [g])[0], -torch.sign(g))            # sign(0) = 0
    assert torch.equal(_one_step("linf", False, [g])[0], -4.5 * torch.sign(g))     # ||g||_1 sign(g)
    assert torch.equal(_one_step("l1", False, [g])[0], torch.tensor([0, 3.0, 0, 0], dtype=torch.float64))
    assert torch.equal(_one_step("l1", True, [g])[0], torch.tensor([0, 1.0, 0, 0], dtype=torch.float64))


@pytest.mark.parametrize("norm,direction", [("l2", (1.0, 2.0)), ("linf", (1.0, 1.0)), ("l1", (0.0, 1.0))])
@pytest.mark.parametrize("normalized", [False, True])
def test_oracle_a_iterates_stay_on_their_ray(norm, direction, normalized):
    # margins.md §3.4 oracle A: one point z = (1, 2), w0 = 0: GD along z, sign along (1, 1), CD along e_2, every step
    z = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    y = torch.tensor([1.0], dtype=torch.float64)
    model = HomogeneousMLP(2, [], dtype=torch.float64)
    with torch.no_grad():
        model.layers[0].weight.zero_()
    opt = SteepestDescent(model.parameters(), lr=0.05, norm=norm, normalized=normalized)
    u = torch.tensor(direction, dtype=torch.float64)
    for _ in range(200):
        opt.zero_grad()
        torch.exp(-y * model(z)).sum().backward()
        opt.step()
        w = model.layers[0].weight.detach()[0]
        # exactly parallel: the 2-d cross product vanishes to rounding (1e-12 absolute at |w| <= ~10)
        assert abs(float(w[0] * u[1] - w[1] * u[0])) <= 1e-12 * (1 + float(w.norm()))
        assert float(w @ u) > 0


def test_adam_without_moments_equals_sign_descent_step_for_step():
    # Adam(beta1 = beta2 = 0, eps -> 0): m/sqrt(v) = sign(g) (margins.md §1.3); eps = 1e-30 avoids 0/0 at dead units
    gen = torch.Generator().manual_seed(0)
    X = torch.rand(40, 6, generator=gen, dtype=torch.float64)
    y = torch.sign(torch.randn(40, generator=gen, dtype=torch.float64))
    a = HomogeneousMLP(6, [8], generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    b = HomogeneousMLP(6, [8], generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    adam = torch.optim.Adam(a.parameters(), lr=1e-2, betas=(0.0, 0.0), eps=1e-30)
    sign = SignGD(b.parameters(), lr=1e-2)
    for _ in range(50):
        for model, opt in ((a, adam), (b, sign)):
            opt.zero_grad()
            torch.exp(-y * model(X)).sum().backward()
            opt.step()
        for pa, pb in zip(a.parameters(), b.parameters()):
            # |g| / (|g| + 1e-30) = 1 to float64 rounding: parameters agree to 1e-12 after every step
            torch.testing.assert_close(pa, pb, rtol=0, atol=1e-12)


def test_global_l1_moves_one_coordinate_over_all_tensors_per_tensor_moves_one_each():
    grads = [torch.tensor([1.0, -2.0]), torch.tensor([[0.5, 3.0], [0.1, 0.2]])]
    glob = _one_step("l1", False, grads, scope="global")
    assert sum(int((d != 0).sum()) for d in glob) == 1 and float(glob[1][0, 1]) == -3.0
    per = _one_step("l1", False, grads, scope="per_tensor")
    assert [int((d != 0).sum()) for d in per] == [1, 1]
    assert float(per[0][1]) == 2.0 and float(per[1][0, 1]) == -3.0


def test_per_tensor_sign_is_a_block_norm_while_global_scales_by_total_l1():
    grads = [torch.tensor([1.0, -1.0]), torch.tensor([2.0])]
    assert torch.equal(_one_step("linf", False, grads, "global")[1], torch.tensor([-4.0]))
    assert torch.equal(_one_step("linf", False, grads, "per_tensor")[1], torch.tensor([-2.0]))


@pytest.mark.parametrize("tie,expected", [("lowest", [-1.0, 0.0, 0.0]), ("split", [-0.5, 0.0, 0.5])])
def test_coordinate_ties(tie, expected):
    p = torch.nn.Parameter(torch.zeros(3))
    p.grad = torch.tensor([2.0, 1.0, -2.0])
    GreedyCD([p], lr=1.0, normalized=True, tie=tie).step()
    assert p.detach().tolist() == expected


def test_random_tie_is_reproducible_from_the_seed():
    picks = []
    for _ in range(2):
        p = torch.nn.Parameter(torch.zeros(6))
        opt = GreedyCD([p], lr=1.0, normalized=True, tie="random", seed=7)
        for _ in range(5):
            p.grad = torch.ones(6)
            opt.step()
        picks.append(p.detach().clone())
    assert torch.equal(picks[0], picks[1]) and float(picks[0].sum()) == -5.0


def test_zero_gradient_gives_zero_step_without_nan():
    for norm in NORMS:
        delta = _one_step(norm, True, [torch.zeros(2, 2)])
        assert torch.equal(delta[0], torch.zeros(2, 2))


def test_state_dict_round_trip_continues_identically():
    gen = torch.Generator().manual_seed(5)
    X, y = torch.rand(30, 4, generator=gen), torch.sign(torch.randn(30, generator=gen))

    def run(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            torch.exp(-y * model(X)).sum().backward()
            opt.step()

    a = HomogeneousMLP(4, [5], generator=torch.Generator().manual_seed(1))
    opt_a = GreedyCD(a.parameters(), lr=0.1, tie="random", seed=3)
    run(a, opt_a, 4)
    b = HomogeneousMLP(4, [5])
    b.load_state_dict(a.state_dict())
    opt_b = GreedyCD(b.parameters(), lr=0.5)
    opt_b.load_state_dict(opt_a.state_dict())
    assert opt_b.param_groups[0]["lr"] == 0.1 and opt_b.param_groups[0]["tie"] == "random"
    run(a, opt_a, 6)
    run(b, opt_b, 6)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_loss_scaled_schedule_divides_by_the_closure_loss():
    p = torch.nn.Parameter(torch.zeros(2))

    def closure():
        p.grad = torch.tensor([1.0, 0.0])
        return torch.tensor(0.25)

    SteepestDescent([p], lr=0.1, norm="l2", lr_schedule="loss_scaled").step(closure)
    assert p.detach().tolist() == pytest.approx([-0.4, 0.0])     # lr / L = 0.1 / 0.25
    with pytest.raises(InvalidParameter):
        SteepestDescent([p], lr=0.1, lr_schedule="loss_scaled").step()


def test_spectral_step_is_polar_factor():
    g = torch.tensor([[3.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    delta = _one_step("spectral", True, [g])[0]
    torch.testing.assert_close(delta, -torch.eye(2, dtype=torch.float64))
    p = torch.nn.Parameter(torch.zeros(2, 2, dtype=torch.float64))
    p.grad = g
    SpectralDescent([p], lr=1.0, normalized=False).step()
    torch.testing.assert_close(p.detach(), -4.0 * torch.eye(2, dtype=torch.float64))   # nuclear norm 4


@pytest.mark.parametrize("kwargs", [dict(lr=0.0), dict(norm="l0.5"), dict(norm="fro"), dict(scope="layer"),
                                    dict(tie="first"), dict(normalized=1), dict(lr_schedule="cosine")])
def test_bad_hyperparameters_raise(kwargs):
    with pytest.raises(InvalidParameter):
        SteepestDescent([torch.nn.Parameter(torch.zeros(1))], **{"lr": 0.1, **kwargs})


def test_global_scope_rejects_groups_with_different_geometry():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(InvalidParameter):
        SteepestDescent([{"params": [a]}, {"params": [b], "norm": "linf"}], lr=0.1)
    opt = SteepestDescent([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, norm="linf", normalized=True)
    a.grad, b.grad = torch.ones(1), torch.ones(1)
    opt.step()
    assert (float(a.detach()), float(b.detach())) == pytest.approx((-0.1, -0.5))


def test_registry_builds_every_optimizer():
    for name in ("gd", "sign", "cd", "spectral", "steepest", "adam"):
        opt = make_optimizer(name, [torch.nn.Parameter(torch.zeros(2))], lr=0.1)
        assert isinstance(opt, torch.optim.Optimizer)
    with pytest.raises(InvalidParameter):
        make_optimizer("lion", [torch.nn.Parameter(torch.zeros(2))], lr=0.1)


def test_norm_names_follow_asymptotics_attack_geometry():
    assert parse_norm("linf").dual_exponent == 1.0 and parse_norm("l1").dual_exponent == math.inf
    assert parse_norm(("lp", 3)).name == "l3" and parse_norm(1.5).dual_exponent == pytest.approx(3.0)
