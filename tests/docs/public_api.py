"""The public API the reference documents: every function and class exported by ``asymptotics``, ``simulate`` and
``deep``.

* ``asymptotics``, ``simulate``: the names in their ``__all__``;
* ``deep`` (whose ``__init__`` imports nothing, so that ``import deep`` never imports torch): the ``__all__`` of each
  sub-package that has one, the public functions and classes of ``deep.device``, and, for the sub-packages without
  an ``__all__`` (``deep.grokking``, ``deep.icl_markov``), the public functions and classes defined in each of their
  modules.

Constants (``LOSSES``, ``OBSERVABLES``, registries) are documented where they are defined and not listed here.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil

CORE = ("asymptotics", "simulate")
DEEP_PACKAGES = ("deep.optim", "deep.models", "deep.margins", "deep.attacks", "deep.data", "deep.ntk",
                 "deep.collapse", "deep.bayes")
DEEP_MODULE_PACKAGES = ("deep.grokking", "deep.icl_markov")
HAS_TORCH = importlib.util.find_spec("torch") is not None


def _wanted(obj) -> bool:
    return inspect.isfunction(obj) or inspect.isclass(obj)


def _defined_public(mod) -> list[str]:
    return [n for n, o in vars(mod).items()
            if not n.startswith("_") and _wanted(o) and getattr(o, "__module__", None) == mod.__name__]


def core_api() -> list[tuple[str, object]]:
    out = []
    for name in CORE:
        mod = importlib.import_module(name)
        out += [(f"{name}.{n}", getattr(mod, n)) for n in mod.__all__ if _wanted(getattr(mod, n))]
    return out


def deep_api() -> list[tuple[str, object]]:
    """The deep/ part (imports torch: call only when it is installed)."""
    out = []
    mod = importlib.import_module("deep.device")
    out += [(f"deep.device.{n}", getattr(mod, n)) for n in _defined_public(mod)]
    for name in DEEP_PACKAGES:
        mod = importlib.import_module(name)
        out += [(f"{name}.{n}", getattr(mod, n)) for n in mod.__all__ if _wanted(getattr(mod, n))]
    for name in DEEP_MODULE_PACKAGES:
        pkg = importlib.import_module(name)
        for info in pkgutil.iter_modules(pkg.__path__):
            mod = importlib.import_module(f"{name}.{info.name}")
            out += [(f"{mod.__name__}.{n}", getattr(mod, n)) for n in _defined_public(mod)]
    return out
