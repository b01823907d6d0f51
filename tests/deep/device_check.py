"""Record the device of every tensor created while a function runs (a test utility, not part of the package).

:class:`DeviceRecorder` is a ``TorchDispatchMode``: every aten operator that runs inside it reports its tensor
outputs, so tensors made by factories (``zeros``, ``arange``), by arithmetic, by views and by random draws are all
seen, whatever Python code created them. :func:`device_violations` runs a function and returns the tensors that were
created somewhere other than the expected device, except the outputs of the operators the device discipline allows
off the device:

* random draws (``rand``, ``randn``, ``randint``, ``randperm``, ``normal_``, ``uniform_``, ...): a CPU
  ``torch.Generator`` can only draw on the CPU, and the draw is then moved with ``.to(device)``;
* transfers (``_to_copy``, ``copy_``) -- ``.to(device)`` itself, and ``.cpu()`` before ``.numpy()``;
* ``lift_fresh`` (``torch.tensor`` of Python or numpy data, which is then moved).

Anything else created off the device (an arithmetic result on the CPU draw before it is moved, a ``torch.zeros(n)``
without ``device=``, a model built on the CPU) is a violation. It also records every call of
``deep.device.default_device(None)`` (an automatic device choice where the caller passed an explicit one).
"""
from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

RANDOM_OPS = frozenset({"rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like", "normal",
                        "normal_", "uniform_", "exponential_", "bernoulli", "bernoulli_", "multinomial", "random_",
                        "geometric_", "cauchy_", "log_normal_", "poisson"})
TRANSFER_OPS = frozenset({"_to_copy", "copy_", "lift_fresh", "lift_fresh_copy"})
ALLOWED_OFF_DEVICE = RANDOM_OPS | TRANSFER_OPS


@dataclass(frozen=True)
class Created:
    """One tensor output of one operator."""

    op: str
    device: str
    shape: tuple


class DeviceRecorder(TorchDispatchMode):
    """Records ``Created(op, device, shape)`` for every tensor output of every aten operator run inside it."""

    def __init__(self):
        super().__init__()
        self.created: list[Created] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self.created.append(Created(name, str(t.device), tuple(t.shape)))
        return out


@contextlib.contextmanager
def _record_auto_devices(calls: list):
    """Patch ``default_device`` wherever deep/figures modules imported it, recording calls with ``device=None``."""
    import deep.device as dd

    original = dd.default_device

    def spy(device=None):
        if device is None:
            calls.append("default_device(None)")
        return original(device)

    patched = []
    for name, module in list(sys.modules.items()):
        if (name == "deep" or name.startswith(("deep.", "figures."))) and \
                getattr(module, "default_device", None) is original:
            patched.append(module)
            module.default_device = spy
    try:
        yield
    finally:
        for module in patched:
            module.default_device = original


def device_violations(fn, expected, *args, allowed=ALLOWED_OFF_DEVICE, **kwargs):
    """Run ``fn(*args, **kwargs)``; return ``(result, violations, auto_calls, created)``.

    ``violations`` lists the :class:`Created` records off the ``expected`` device whose operator is not in ``allowed``;
    ``auto_calls`` the automatic device choices made during the run; ``created`` every record.
    """
    target = torch.device(expected)
    auto: list = []
    with _record_auto_devices(auto), DeviceRecorder() as recorder:
        result = fn(*args, **kwargs)
    bad = [c for c in recorder.created
           if torch.device(c.device).type != target.type and c.op not in allowed]
    return result, bad, auto, recorder.created
