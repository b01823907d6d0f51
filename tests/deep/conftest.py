"""torch is optional: without it every test module here is skipped (each also calls pytest.importorskip)."""
import pytest

try:
    import torch
except ImportError:  # pragma: no cover - exercised only without the optional dependency
    torch = None


@pytest.fixture(autouse=True)
def _one_torch_thread():
    if torch is not None:
        torch.set_num_threads(1)
    yield
