"""Check that code told to run on a device really does, without a GPU (a test utility, not part of the package).

Two checkers:

* :func:`audit_device` runs a function on a *fake accelerator*. Tensors on it report ``device == meta`` (the only
  non-CPU device type a CPU build accepts everywhere: ``torch.zeros(n, device="meta")``, ``.to("meta")``,
  ``default_device("meta")``) but hold real CPU values, so training, attacks and metrics run to the end. The
  :class:`FakeAccelerator` dispatch mode sees every aten operator and records what would fail or misbehave on a
  real GPU (:class:`Violation`):

  - ``mixed``: an operator mixes a device tensor with a host tensor of one or more dimensions (cuda raises
    "Expected all tensors to be on the same device"); 0-dim host tensors (scalars) and host *indices* of
    ``index`` / ``index_put_`` are allowed, as on cuda, and so are transfers (``copy_``, ``_to_copy``);
  - ``numpy``: ``.numpy()`` / ``numpy.asarray`` of a device tensor without ``.cpu()`` first (cuda raises);
  - ``generator``: a random draw made on the device with a CPU ``torch.Generator`` (cuda raises; the discipline is
    to draw on the CPU generator's device and move the draw with ``.to(device)``);
  - ``device_draw``: any other random draw made on the device (its global RNG or a device generator, dropout
    masks included): the same seed would give different numbers on different devices;
  - ``auto``: a call of ``deep.device.default_device(None)`` (an automatic device choice where the caller passed
    an explicit device).

  It also counts the operators whose outputs live on the device and on the host, so a test can assert that the
  work ran on the device at all.

* :func:`device_violations` records the device of every tensor an operator creates while a function runs on a
  real device (``ROBUSTBIAS_TEST_DEVICE=cuda``) and returns those created elsewhere, except random draws and
  transfers (:data:`ALLOWED_OFF_DEVICE`).
"""
from __future__ import annotations

import contextlib
import sys
from collections import Counter
from dataclasses import dataclass, field

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map

RANDOM_OPS = frozenset({"rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like", "normal",
                        "normal_", "uniform_", "exponential_", "bernoulli", "bernoulli_", "multinomial", "random_",
                        "geometric_", "cauchy_", "log_normal_", "poisson"})
TRANSFER_OPS = frozenset({"_to_copy", "copy_", "lift_fresh", "lift_fresh_copy"})
ALLOWED_OFF_DEVICE = RANDOM_OPS | TRANSFER_OPS
# operators that accept host tensors beside device tensors on cuda: transfers, and indexing with host indices
# random operators that are not draws of a tensor of given shape (dropout draws its mask inside)
DEVICE_RNG_OPS = frozenset({"native_dropout", "dropout", "feature_dropout", "alpha_dropout", "rrelu_with_noise"})
MIXING_ALLOWED = frozenset({"_to_copy", "copy_", "index", "index_put_", "index_put", "_index_put_impl_"})
FAKE_DEVICE = torch.device("meta")


@dataclass(frozen=True)
class Created:
    """One tensor output of one operator."""

    op: str
    device: str
    shape: tuple


@dataclass(frozen=True)
class Violation:
    """Something that fails (or silently falls back to the CPU) on a real accelerator.

    ``kind`` is ``mixed``, ``numpy``, ``generator`` or ``auto`` (see the module docstring); ``op`` the aten
    operator (or the Python call); ``detail`` the shapes involved.
    """

    kind: str
    op: str
    detail: str = ""


class OnDevice(torch.Tensor):
    """A tensor on the fake accelerator: reports ``device == meta``, holds its values in a CPU tensor ``elem``.

    Every operator on it goes through :class:`FakeAccelerator`, which unwraps, runs on the CPU and wraps again;
    outside the mode an operator on it is an error (a device tensor escaped the audited run).
    """

    elem: torch.Tensor
    __slots__ = ["elem"]

    @staticmethod
    def __new__(cls, elem: torch.Tensor):
        out = torch.Tensor._make_wrapper_subclass(cls, elem.size(), strides=elem.stride(),
                                                  storage_offset=elem.storage_offset(), dtype=elem.dtype,
                                                  layout=elem.layout, device=FAKE_DEVICE,
                                                  requires_grad=elem.requires_grad)
        out.elem = elem
        return out

    __torch_function__ = torch._C._disabled_torch_function_impl

    def __repr__(self):
        return f"OnDevice({self.elem!r})"

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        raise RuntimeError(f"{func} on a fake-device tensor outside the FakeAccelerator that made it")

    def numpy(self, *args, **kwargs):
        """Record the violation (cuda raises here), then return the values so the run can go on."""
        _ACTIVE[-1].record("numpy", "Tensor.numpy", str(tuple(self.shape)))
        return self.elem.numpy(*args, **kwargs)

    def tolist(self):
        return self.elem.tolist()                # allowed on cuda (a synchronising copy)

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)


_ACTIVE: list = []


def _unwrap(t):
    return t.elem if isinstance(t, OnDevice) else t


def _is_fake(device) -> bool:
    return device is not None and torch.device(device).type == FAKE_DEVICE.type


class FakeAccelerator(TorchDispatchMode):
    """Runs every operator on the CPU while keeping track of which tensors live on the (fake) device.

    Outputs are device tensors when an input is one or when a factory was asked for ``device=meta``; ``_to_copy``
    to another device (``.cpu()``) returns a host tensor. ``violations`` and ``op_counts`` (``device`` / ``host``
    outputs) are filled as the run goes.
    """

    def __init__(self):
        super().__init__()
        self.violations: list[Violation] = []
        self.op_counts: Counter = Counter()
        self.host_ops: Counter = Counter()

    def record(self, kind: str, op: str, detail: str = "") -> None:
        self.violations.append(Violation(kind, op, detail))

    def __enter__(self):
        _ACTIVE.append(self)
        return super().__enter__()

    def __exit__(self, *exc):
        _ACTIVE.pop()
        return super().__exit__(*exc)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        on_device = [t for t in tensors if isinstance(t, OnDevice)]
        host = [t for t in tensors if not isinstance(t, OnDevice) and t.dim() > 0]
        if any(t.device.type == FAKE_DEVICE.type for t in host):
            raise RuntimeError(f"{name}: a real meta tensor reached the fake accelerator (make inputs inside it)")
        if on_device and host and name not in MIXING_ALLOWED:
            self.record("mixed", name, f"device {[tuple(t.shape) for t in on_device]}, "
                                       f"host {[tuple(t.shape) for t in host]}")
        requested = kwargs.get("device")
        factory_on_device = _is_fake(requested)
        if name in RANDOM_OPS or name in DEVICE_RNG_OPS:
            gen = kwargs.get("generator")
            draws_on_device = factory_on_device or (requested is None and bool(on_device))
            if draws_on_device and gen is not None and gen.device.type == "cpu":
                self.record("generator", name, "a CPU generator drawing on the device")
            elif draws_on_device:
                self.record("device_draw", name, "drawn on the device (its global RNG), not on a CPU generator")
        if factory_on_device:
            kwargs = dict(kwargs, device=torch.device("cpu"))
        out = func(*tree_map(_unwrap, args), **tree_map(_unwrap, kwargs))
        leaves_device = requested is not None and not factory_on_device       # .cpu(), .to("cpu")
        wrap = factory_on_device or (bool(on_device) and not leaves_device)
        outputs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        self.op_counts["device" if wrap else "host"] += bool(outputs)
        if not wrap and any(t.dim() > 0 for t in outputs):
            self.host_ops[name] += 1
        if not wrap:
            return out
        by_elem = {id(t.elem): t for t in on_device}                 # in-place ops return their own input

        def wrap_one(t):
            if isinstance(t, torch.Tensor) and not isinstance(t, OnDevice):
                same = by_elem.get(id(t))
                return OnDevice(t) if same is None else same
            return t

        return tree_map(wrap_one, out)


@contextlib.contextmanager
def _constructors_honour_the_fake_device():
    """``torch.tensor`` / ``as_tensor`` / ``asarray`` build their CPU copy below the dispatcher, so with
    ``device=meta`` they would make a real (value-less) meta tensor: build on the CPU, then ``.to(meta)``."""
    originals = {name: getattr(torch, name) for name in ("tensor", "as_tensor", "asarray")}

    def patched(original):
        def construct(data, *args, device=None, **kwargs):
            if not _is_fake(device):
                return original(data, *args, device=device, **kwargs)
            return original(data, *args, **kwargs).to(FAKE_DEVICE)
        return construct

    for name, original in originals.items():
        setattr(torch, name, patched(original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(torch, name, original)


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
        # modules first imported during the run bound the spy itself (``from ..device import default_device``)
        for module in patched + [m for m in list(sys.modules.values()) if getattr(m, "default_device", None) is spy]:
            module.default_device = original


@dataclass
class DeviceAudit:
    """What :func:`audit_device` saw: the function's result, the violations and the operator counts."""

    result: object
    violations: list = field(default_factory=list)
    op_counts: Counter = field(default_factory=Counter)
    host_ops: Counter = field(default_factory=Counter)

    def kinds(self) -> set:
        return {v.kind for v in self.violations}

    def summary(self) -> str:
        """One line per distinct (kind, op), with how often it happened (for assertion messages)."""
        counts = Counter((v.kind, v.op, v.detail) for v in self.violations)
        return "\n".join(f"{n} x {k} {op}: {d}" for (k, op, d), n in counts.most_common(30))


def audit_device(fn, *args, **kwargs) -> DeviceAudit:
    """Run ``fn(*args, **kwargs)`` on the fake accelerator (pass it ``device="meta"``) and audit the run.

    Inputs that should start on the device must be made inside ``fn`` (or moved there with ``.to("meta")``
    inside it): a real meta tensor has no values.
    """
    auto: list = []
    with _record_auto_devices(auto), _constructors_honour_the_fake_device(), FakeAccelerator() as mode:
        result = fn(*args, **kwargs)
    violations = mode.violations + [Violation("auto", call) for call in auto]
    return DeviceAudit(_unwrap_result(result), violations, mode.op_counts, mode.host_ops)


def _unwrap_result(result):
    """Device tensors in the result become plain CPU tensors (they cannot be used outside the mode)."""
    return tree_map(lambda t: t.elem if isinstance(t, OnDevice) else t, result)


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


def device_violations(fn, expected, *args, allowed=ALLOWED_OFF_DEVICE, **kwargs):
    """Run ``fn(*args, **kwargs)`` on a real device; return ``(result, violations, auto_calls, created)``.

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
