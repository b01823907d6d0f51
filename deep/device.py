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


def generator_for(seed: int, device: torch.device) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed`` (the only source of randomness in ``deep``)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen
