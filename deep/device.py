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

    Returns
    -------
    torch.device

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


def draw_device(generator: torch.Generator | None, device: torch.device | str | None = None) -> torch.device:
    """Where to draw random numbers for a tensor that will live on ``device``: the generator's own device, else
    the CPU.

    The device discipline of the network code: every random draw is made on the CPU (a CPU ``torch.Generator``, or
    without one torch's global CPU RNG) and the caller moves it with ``.to(device)``, so a seed gives the same
    numbers on every device. A generator can only draw on its own device, so a (caller-supplied) cuda generator
    draws on cuda; the package itself only makes CPU generators (``torch.Generator().manual_seed(seed)``).

    Parameters
    ----------
    generator : torch.Generator or None
        The generator of the draw (None: torch's global CPU RNG).
    device : torch.device, str or None
        Where the tensor will live; it never changes where the draw is made (kept so call sites say both).

    Returns
    -------
    torch.device
        The device to draw on (then ``.to(device)``).

    Examples
    --------
    >>> draw_device(torch.Generator(), torch.device("meta"))
    device(type='cpu')
    >>> draw_device(None, torch.device("meta"))
    device(type='cpu')
    """
    return torch.device("cpu") if generator is None else generator.device
