"""Shared test setup: one torch thread (2 threads are much slower on the 2-core CI machine), gpu marker."""
import importlib.util
import os

import pytest

# draw into files only, even on a machine with a display (the package never chooses a backend itself)
os.environ.setdefault("MPLBACKEND", "agg")

if importlib.util.find_spec("torch") is not None:
    import torch

    torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    cuda = False
    if importlib.util.find_spec("torch") is not None:
        import torch

        cuda = torch.cuda.is_available()
    if cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
