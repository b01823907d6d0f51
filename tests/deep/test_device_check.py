"""The fake-accelerator checker (``tests.deep.device_check``) catches what fails on a real GPU, lets through what
works there, and computes the same numbers as a plain CPU run (so whole figures can run under it)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tests.deep.device_check import FAKE_DEVICE, audit_device  # noqa: E402


def _kinds(audit):
    return sorted(audit.kinds())


def test_device_tensors_report_the_fake_device_and_compute_like_the_cpu():
    # same draws, same arithmetic: the values must match a plain CPU run exactly (float64, identical kernels)
    def linear_step(device):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(5, 3, generator=g, dtype=torch.float64).to(device)
        w = torch.randn(3, 2, generator=g, dtype=torch.float64).to(device).requires_grad_(True)
        loss = torch.tanh(x @ w).square().sum()
        loss.backward()
        return x.device, loss.detach().cpu(), w.grad.cpu()

    fake = audit_device(linear_step, "meta")
    device, loss, grad = fake.result
    cpu_device, cpu_loss, cpu_grad = linear_step("cpu")
    assert device == FAKE_DEVICE and cpu_device.type == "cpu"
    assert torch.equal(loss, cpu_loss) and torch.equal(grad, cpu_grad)
    assert fake.violations == [] and fake.op_counts["device"] > 0


def test_flags_a_tensor_made_without_device_meeting_a_device_tensor():
    def careless(device):
        on_device = torch.ones(3, device=device)
        return on_device + torch.zeros(3)            # cuda: "Expected all tensors to be on the same device"

    audit = audit_device(careless, "meta")
    assert [(v.kind, v.op) for v in audit.violations] == [("mixed", "add")]


def test_flags_a_model_left_on_the_cpu():
    def forgot_to_move(device):
        model = torch.nn.Linear(4, 2)
        return model(torch.ones(3, 4, device=device))

    assert "mixed" in audit_device(forgot_to_move, "meta").kinds()


def test_flags_numpy_of_a_device_tensor_and_not_after_cpu():
    def to_numpy(device, via_cpu):
        t = torch.arange(4.0, device=device)
        return (t.cpu() if via_cpu else t).numpy(), np.asarray(t.cpu() if via_cpu else t)

    bad = audit_device(to_numpy, "meta", via_cpu=False)
    good = audit_device(to_numpy, "meta", via_cpu=True)
    assert [v.kind for v in bad.violations] == ["numpy", "numpy"] and good.violations == []
    assert bad.result[0].tolist() == [0.0, 1.0, 2.0, 3.0]           # the run went on with the right values


def test_flags_a_cpu_generator_asked_to_draw_on_the_device():
    def draws_on_device(device):
        return torch.rand(3, generator=torch.Generator().manual_seed(0), device=device)

    assert _kinds(audit_device(draws_on_device, "meta")) == ["generator"]


@pytest.mark.parametrize("draw", ["randn", "dropout", "init"])
def test_flags_draws_from_the_devices_global_rng(draw):
    def device_rng(device):
        x = torch.ones(8, 4, device=device)
        if draw == "randn":
            return torch.randn(8, 4, device=device)
        if draw == "dropout":
            return torch.nn.functional.dropout(x, 0.5, training=True)
        return torch.nn.init.normal_(torch.empty(4, 4, device=device))

    assert _kinds(audit_device(device_rng, "meta")) == ["device_draw"]


def test_accepts_cpu_draws_moved_then_used_with_scalars_and_host_indices():
    def disciplined(device):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(4, 3, generator=g).to(device)
        idx = torch.randperm(4, generator=g)                     # host indices of a device tensor: fine on cuda
        scale = torch.tensor(2.0)                                # a 0-dim host tensor is a scalar on cuda
        return (x[idx] * scale).sum(0).tolist()

    audit = audit_device(disciplined, "meta")
    assert audit.violations == [] and len(audit.result) == 3


def test_records_automatic_device_choices():
    from deep.data import digits_binary

    assert _kinds(audit_device(digits_binary, (0, 1))) == ["auto"]
    assert audit_device(digits_binary, (0, 1), device="meta").violations == []


@pytest.mark.parametrize("norm", ["linf", "l2", "l1"])
def test_attack_random_starts_draw_on_a_cpu_generator_and_move_to_the_inputs_device(norm):
    from deep.attacks import random_point

    def start(device):
        x = torch.zeros(2, 5, device=device)
        return random_point(x, 0.1, norm, torch.Generator().manual_seed(0))

    audit = audit_device(start, "meta")
    assert audit.violations == []
    # the same CPU stream on every device: the fake-device start equals the CPU one
    assert torch.equal(audit.result, start("cpu"))


def test_modules_imported_during_an_audit_keep_the_real_default_device(monkeypatch):
    # a module first imported inside the run binds the spy (``from deep.device import default_device``); leaving it
    # there would hide its automatic choices from every later audit
    import sys
    import types

    import deep.device

    probe = types.ModuleType("deep._device_probe")

    def import_during_run():
        from deep.device import default_device
        probe.default_device = default_device
        monkeypatch.setitem(sys.modules, probe.__name__, probe)

    audit_device(import_during_run)
    assert probe.default_device is deep.device.default_device
    assert audit_device(lambda: probe.default_device(None)).kinds() == {"auto"}
