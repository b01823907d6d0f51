"""Default device for the network experiments: ``cuda`` when available, ``cpu`` otherwise."""
from __future__ import annotations

import torch

from asymptotics.errors import InvalidParameter


def default_device(device: str | torch.device | None = None) -> torch.device:
    """Return ``device`` as a ``torch.device``; ``None`` means cuda if available, else cpu.

    Parameters
    ----------
    device : str, torch.device or None
        Explicit device (``"cpu"``, ``"cuda"``, ``"cuda:1"``), or ``None`` for the automatic choice.

    Raises
    ------
    InvalidParameter
        If ``device`` is not a valid device string, or names cuda when no GPU is present.

    Examples
    --------
    >>> default_device("cpu")
    device(type='cpu')
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InvalidParameter("device", f"not a torch device: {device!r} ({exc})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameter("device", "cuda requested but torch.cuda.is_available() is False")
    return dev


def draw_device(generator: torch.Generator | None, device: torch.device) -> torch.device:
    """Where to draw random numbers for a tensor that will live on ``device``: the generator's own device.

    A ``torch.Generator`` can only draw on its device, so a CPU generator serving a cuda tensor draws on the CPU and
    the caller moves the draw with ``.to(device)``; without a generator the global RNG of ``device`` is used.

    Examples
    --------
    >>> draw_device(torch.Generator(), torch.device("meta"))
    device(type='cpu')
    """
    return torch.device(device) if generator is None else generator.device


def generator_for(seed: int, device: torch.device) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed``.

    The package's own code seeds CPU generators (``torch.Generator().manual_seed(seed)``: the same stream on every
    device), draws on them (:func:`draw_device`) and moves the draws; a generator on cuda only serves callers that
    draw on cuda directly, and its stream differs from the CPU one.
    """
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen
