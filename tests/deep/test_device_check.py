"""The device checker catches tensors created off the requested device (run here with the meta device, which
needs no GPU), and the package's random helpers draw on a CPU generator and move the draw."""
import pytest

torch = pytest.importorskip("torch")

from tests.deep.device_check import device_violations  # noqa: E402


def _careless(device):
    """Creates a tensor with no device (the CPU) while told to use ``device``."""
    on_device = torch.ones(3, device=device)
    return on_device + 1, torch.zeros(3)


def _disciplined(device):
    """Draws on a CPU generator, moves the draw, computes on ``device``."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=g).to(device)
    return (x * 2).sum(0)


def test_checker_flags_a_tensor_created_on_the_cpu_when_meta_was_asked():
    _, bad, _, created = device_violations(_careless, "meta", "meta")
    assert [c.op for c in bad] == ["zeros"] and bad[0].device == "cpu"
    assert any(c.device == "meta" for c in created)


def test_checker_flags_computing_on_the_draw_before_moving_it():
    def careless_draw(device):
        g = torch.Generator().manual_seed(0)
        return (torch.rand(5, generator=g) * 2 - 1).to(device)
    _, bad, _, _ = device_violations(careless_draw, "meta", "meta")
    assert {c.op for c in bad} == {"mul", "sub"}


def test_checker_accepts_cpu_draws_moved_to_the_device():
    result, bad, _, _ = device_violations(_disciplined, "meta", "meta")
    assert result.device.type == "meta" and bad == []


def test_checker_records_automatic_device_choices():
    from deep.data import digits_binary

    _, _, auto, _ = device_violations(digits_binary, "cpu", (0, 1))
    assert auto == ["default_device(None)"]
    _, _, auto, _ = device_violations(digits_binary, "cpu", (0, 1), device="cpu")
    assert auto == []


@pytest.mark.parametrize("norm", ["linf", "l2", "l1"])
def test_random_starts_draw_on_a_cpu_generator_and_move_to_the_inputs_device(norm):
    from deep.attacks import random_point

    x = torch.zeros(2, 5, device="meta")
    _, bad, _, _ = device_violations(random_point, "meta", x, 0.1, norm, torch.Generator().manual_seed(0))
    assert bad == []
