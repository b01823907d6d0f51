"""Device discipline of the network code that the figures do not reach (issue 15 item 5).

Each function runs on the fake accelerator of ``tests.deep.device_check`` (device tensors report ``meta`` and hold
CPU values): it must do nothing a real GPU rejects (no host tensor meeting a device tensor, no ``.numpy()`` of a
device tensor, no draw on the device) and, drawing on CPU generators only, give exactly the numbers of a CPU run.
"""
import math

import pytest

torch = pytest.importorskip("torch")

from deep.device import draw_device  # noqa: E402
from tests.deep.device_check import audit_device  # noqa: E402


def _same_on_fake_device_and_cpu(fn):
    """Run ``fn(device)`` on the fake accelerator and on the CPU; return both results (violations asserted none)."""
    audit = audit_device(fn, "meta")
    assert audit.violations == [], audit.summary()
    return audit.result, fn("cpu")


def test_draws_are_made_on_the_cpu_without_a_generator_too():
    # the global RNG of the device would give other numbers on every device; the CPU's is shared
    assert draw_device(None, torch.device("meta")).type == "cpu"
    assert draw_device(torch.Generator(), "meta").type == "cpu"


def test_kernel_flow_residuals_on_the_kernels_device():
    from deep.ntk import ntk_mse_dynamics

    def flow(device):
        g = torch.Generator().manual_seed(0)
        A = torch.randn(6, 6, generator=g, dtype=torch.float64)
        K, Y = (A @ A.T).to(device), torch.randn(6, generator=g, dtype=torch.float64).to(device)
        out = ntk_mse_dynamics(K, Y, [0, 1, 5], lr=0.5)
        return out["residual"].cpu()

    fake, cpu = _same_on_fake_device_and_cpu(flow)
    assert torch.equal(fake, cpu)


def test_simplex_etf_is_built_on_the_requested_device():
    from deep.collapse import simplex_etf

    def etf(device):
        return simplex_etf(4, 6, radius=2.0, generator=torch.Generator().manual_seed(0), device=device)

    audit = audit_device(etf, "meta")
    assert audit.violations == [] and audit.op_counts["device"] > 0
    M = audit.result
    assert torch.equal(M, etf("cpu"))
    cos = (M @ M.T) / 4.0                                     # rows of norm 2: Gram / 4 = cosines, -1/(C-1) off the diagonal
    assert torch.allclose(cos, torch.full((4, 4), -1 / 3, dtype=M.dtype).fill_diagonal_(1.0), atol=1e-12)


def test_class_means_accept_host_labels_for_device_features():
    from deep.collapse import class_means

    def means(device):
        H = torch.arange(12.0).reshape(6, 2).to(device)
        labels = torch.tensor([0, 1, 0, 1, 2, 2])             # host labels, as a caller may pass
        return class_means(H, labels, 3)[0].cpu()

    fake, cpu = _same_on_fake_device_and_cpu(means)
    # class 0: rows 0 and 2 -> ((0+4)/2, (1+5)/2); class 1: rows 1, 3; class 2: rows 4, 5
    assert fake.tolist() == [[2.0, 3.0], [4.0, 5.0], [9.0, 10.0]] and torch.equal(fake, cpu)


def test_hmc_with_too_few_samples_reports_nan_rhat_on_the_device():
    from deep.bayes import hmc

    def short_chain(device):
        theta0 = torch.zeros(2, 3, dtype=torch.float64).to(device)
        res = hmc(lambda th: 0.5 * (th * th).sum(1), theta0, num_samples=2, burn_in=2, leapfrog_steps=2,
                  generator=torch.Generator().manual_seed(0))
        return res.samples.cpu(), res.rhat.device.type, res.rhat_max

    (fake_samples, rhat_device, rhat_max), (cpu_samples, _, _) = _same_on_fake_device_and_cpu(short_chain)
    assert rhat_device == "meta" and math.isnan(rhat_max)
    assert torch.equal(fake_samples, cpu_samples)


@pytest.mark.parametrize("kind", ["mlp", "diagonal_product", "dropout", "bayes"])
def test_models_built_on_the_cpu_from_a_cpu_generator_then_moved(kind):
    from deep.bayes import BayesMLP, DropoutMLP
    from deep.models import DiagonalNet, HomogeneousMLP

    def forward(device):
        g = torch.Generator().manual_seed(0)
        model = {"mlp": lambda: HomogeneousMLP(5, [7], generator=g),
                 "diagonal_product": lambda: DiagonalNet(5, depth=3, parametrization="product", generator=g),
                 "dropout": lambda: DropoutMLP(5, [7], out_features=3, p=0.5, generator=g),
                 "bayes": lambda: BayesMLP(5, [7], out_features=3, init_rho=-2.0, generator=g)}[kind]().to(device)
        x = torch.rand(4, 5, generator=g).to(device)
        out = model(x, g) if kind in ("dropout", "bayes") else model(x)   # stochastic layers draw from g (CPU)
        return out.detach().cpu()

    fake, cpu = _same_on_fake_device_and_cpu(forward)
    assert torch.equal(fake, cpu)
