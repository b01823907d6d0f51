"""The torch.func empirical NTK differentiates trainable parameters only (issue 15 item 4)."""
import copy

import pytest

torch = pytest.importorskip("torch")

from asymptotics.errors import InvalidParameter  # noqa: E402
from deep.ntk import NTKMLP, empirical_ntk, per_sample_gradient_ntk  # noqa: E402
from deep.ntk.transfer import CenteredNet  # noqa: E402


def _frozen_net():
    """A centred NTK net: half of its parameters (the initial copy) have requires_grad=False."""
    net = NTKMLP(5, [16, 16], generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    return CenteredNet(net, copy.deepcopy(net))


@pytest.mark.parametrize("chunk_size", [256, 3])
def test_torch_func_ntk_equals_the_per_sample_loop_on_a_net_with_frozen_layers(chunk_size):
    model = _frozen_net()
    x = torch.randn(7, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    reference = per_sample_gradient_ntk(model, x)
    # float64 on both sides, the same products summed in a different order: 1e-10 relative is far above rounding
    torch.testing.assert_close(empirical_ntk(model, x), reference, rtol=1e-10, atol=1e-10)
    z = torch.randn(4, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    G = torch.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(model(z[i:i + 1])[0],
                                                                              list(model.net.parameters()))])
                     for i in range(4)])
    G1 = torch.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(model(x[i:i + 1])[0],
                                                                               list(model.net.parameters()))])
                      for i in range(7)])
    torch.testing.assert_close(empirical_ntk(model, x, z, chunk_size=chunk_size), G1 @ G.T, rtol=1e-10, atol=1e-10)


def test_frozen_parameters_do_not_change_the_kernel():
    # before the fix the frozen copy's Jacobian (equal to minus the trainable one at initialisation) was counted too,
    # doubling the kernel: the centred net's kernel must equal the bare net's at initialisation
    model = _frozen_net()
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    torch.testing.assert_close(empirical_ntk(model, x), empirical_ntk(model.net, x), rtol=1e-12, atol=1e-12)


def test_a_model_without_trainable_parameters_is_rejected():
    net = torch.nn.Linear(3, 1).requires_grad_(False)
    with pytest.raises(InvalidParameter, match="model"):
        empirical_ntk(net, torch.eye(3))
