"""Homogeneous models: order detection, bias breaks homogeneity, output shapes, diagonal predictor."""
import pytest

torch = pytest.importorskip("torch")

from asymptotics.errors import InvalidParameter  # noqa: E402
from deep.models import (DiagonalNet, HomogeneousCNN, HomogeneousMLP, check_homogeneity,  # noqa: E402
                         homogeneity_order)


def _inputs(shape=(6, 1, 8, 8)):
    return torch.rand(shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def _gen(seed=5):
    return torch.Generator().manual_seed(seed)


def _perturbed_diagonal(depth, parametrization):
    net = DiagonalNet(64, depth, init_scale=0.5, parametrization=parametrization,
                      generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        for seed, p in enumerate(net.parameters()):
            p.add_(0.1 * torch.rand(p.shape, generator=_gen(seed), dtype=torch.float64))
    return net


@pytest.mark.parametrize("factory,order", [
    (lambda: HomogeneousMLP(64, [], dtype=torch.float64), 1),
    (lambda: HomogeneousMLP(64, [16], dtype=torch.float64), 2),
    (lambda: HomogeneousMLP(64, [16, 8, 8], out_features=3, dtype=torch.float64), 4),
    (lambda: HomogeneousMLP(64, [16], activation="leaky_relu", negative_slope=0.1, dtype=torch.float64), 2),
    (lambda: HomogeneousCNN(1, 8, (4, 6), out_features=3, generator=_gen(), dtype=torch.float64), 3),
    (lambda: HomogeneousCNN(1, 8, (8,), pool="avg", generator=_gen(), dtype=torch.float64), 2),
    (lambda: _perturbed_diagonal(2, "difference"), 2),
    (lambda: _perturbed_diagonal(3, "product"), 3),
])
def test_homogeneity_order_is_detected_and_matches_declared_order(factory, order):
    model = factory()
    check = homogeneity_order(model, _inputs())
    assert check.order == order == model.order
    # float64 forward passes: f(c theta) = c^L f(theta) to ~1e-14 relative; 1e-10 leaves room for deep nets
    assert check.homogeneous and check.relative_error < 1e-10
    assert check_homogeneity(model, _inputs(), order) < 1e-10


def test_a_hidden_bias_breaks_homogeneity():
    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    check = homogeneity_order(model, _inputs().float())
    assert not check.homogeneous and check.relative_error > 1e-3


def test_output_shapes_binary_and_multiclass():
    x = _inputs().float()
    assert HomogeneousMLP(64, [8])(x).shape == (6,)
    assert HomogeneousMLP(64, [8], out_features=4)(x).shape == (6, 4)
    assert HomogeneousCNN(1, 8, (2,), out_features=10)(x).shape == (6, 10)
    assert DiagonalNet(64)(x).shape == (6,)


def test_diagonal_predictor_formula():
    net = DiagonalNet(3, depth=3, init_scale=1.0, dtype=torch.float64)
    with torch.no_grad():
        net.u.copy_(torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64))
    assert net.predictor().tolist() == [7.0, 0.0, 0.125 - 1.0]
    x = torch.eye(3, dtype=torch.float64)
    assert net(x).tolist() == net.predictor().tolist()


def test_initialisation_is_reproducible_from_the_generator():
    a = HomogeneousMLP(10, [5], generator=torch.Generator().manual_seed(4))
    b = HomogeneousMLP(10, [5], generator=torch.Generator().manual_seed(4))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert all(p.abs().max() <= 1 / 10 ** 0.5 for p in list(a.parameters())[:1])


@pytest.mark.parametrize("build", [lambda: HomogeneousMLP(0, [3]), lambda: HomogeneousMLP(3, [3], activation="tanh"),
                                   lambda: HomogeneousCNN(kernel_size=2), lambda: DiagonalNet(3, depth=0),
                                   lambda: DiagonalNet(3, parametrization="sum"),
                                   lambda: HomogeneousMLP(3, [2], init_scale=-1.0)])
def test_bad_arguments_raise(build):
    with pytest.raises(InvalidParameter):
        build()


def test_zero_output_is_reported():
    with pytest.raises(InvalidParameter):
        homogeneity_order(DiagonalNet(64), _inputs().float())       # w = u^2 - v^2 = 0 at init
