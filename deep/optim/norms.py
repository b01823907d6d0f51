r"""Parameter-space geometries for steepest descent and margins: l2, linf, l1, general lp and spectral.

A geometry is parsed once from a name with :func:`parse_norm` and carries its dual. The lp names are the same strings
as ``asymptotics.parse_attack`` ("linf", "l2", "l1", "l1.5") and the dual exponent comes from that object, so theory,
simulation and networks agree on what "l1.5" means.

Conventions (``theta`` = all parameters concatenated, ``g`` = the gradient, ``1/p + 1/r = 1``):

* lp norm ``||theta||_p``; its dual ``||g||_r`` (linf <-> l1).
* ``"spectral"`` is the layer norm ``max_l ||W_l||_op``; its dual is ``sum_l ||G_l||_nuc``. A tensor with more than two
  dimensions (a convolution kernel) is read as the matrix ``(shape[0], -1)``; a vector as a ``1 x n`` matrix
  (operator norm = l2 norm) and a scalar as a ``1 x 1`` matrix.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import torch

from asymptotics import parse_attack
from asymptotics.errors import InvalidParameter


@dataclass(frozen=True)
class Geometry:
    """A parameter-space norm: ``kind`` is ``"lp"`` (exponent ``p`` in [1, inf]) or ``"spectral"``.

    The spectral norm of a list of tensors is the largest operator norm of their matrices (:func:`as_matrix`); its dual
    is the sum of the nuclear norms.

    Parameters
    ----------
    kind : {"lp", "spectral"}
        The family.
    p : float
        The exponent of an lp norm (``inf`` for linf; ignored for spectral).

    Attributes
    ----------
    name : str
        "l2", "linf", "l1.5", ... or "spectral".
    dual_exponent : float
        r with 1/p + 1/r = 1 (nan for spectral).

    Examples
    --------
    >>> import math, torch
    >>> from deep.optim import Geometry
    >>> g = Geometry("lp", math.inf)
    >>> g.name, g.dual_exponent
    ('linf', 1.0)
    >>> float(g.norm([torch.tensor([1.0, -3.0])])), float(g.dual_norm([torch.tensor([1.0, -3.0])]))
    (3.0, 4.0)
    """

    kind: str
    p: float

    @property
    def name(self) -> str:
        if self.kind == "spectral":
            return "spectral"
        return "linf" if math.isinf(self.p) else f"l{self.p:g}"

    @property
    def dual_exponent(self) -> float:
        """r with 1/p + 1/r = 1 (from ``asymptotics.Attack.lp(p).dual_exponent``); nan for spectral."""
        if self.kind == "spectral":
            return math.nan
        return parse_attack(self.name).dual_exponent

    def norm(self, tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        """``||theta||`` of the concatenation of ``tensors`` (a 0-d tensor)."""
        tensors = [t.detach() for t in tensors]
        if self.kind == "spectral":
            return torch.stack([torch.linalg.matrix_norm(as_matrix(t), ord=2) for t in tensors]).max()
        return _lp_of_list(tensors, self.p)

    def dual_norm(self, tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        """``||g||_*`` of the concatenation of ``tensors`` (a 0-d tensor)."""
        tensors = [t.detach() for t in tensors]
        if self.kind == "spectral":
            return torch.stack([torch.linalg.matrix_norm(as_matrix(t), ord="nuc") for t in tensors]).sum()
        return _lp_of_list(tensors, self.dual_exponent)


def as_matrix(t: torch.Tensor) -> torch.Tensor:
    """The matrix a tensor stands for under the spectral geometry: a scalar is 1 x 1, a vector a row, a tensor of
    higher order its first dimension by the rest (a conv kernel ``(out, in, k, k)`` is ``out x (in k k)``).

    Parameters
    ----------
    t : torch.Tensor
        Any tensor.

    Returns
    -------
    torch.Tensor
        A 2-D view of ``t``.

    Examples
    --------
    >>> import torch
    >>> from deep.optim import as_matrix
    >>> as_matrix(torch.zeros(8, 3, 5, 5)).shape, as_matrix(torch.zeros(4)).shape
    (torch.Size([8, 75]), torch.Size([1, 4]))
    """
    if t.ndim == 0:
        return t.reshape(1, 1)
    if t.ndim == 1:
        return t.reshape(1, -1)
    return t.reshape(t.shape[0], -1)


def _lp_of_list(tensors: Sequence[torch.Tensor], p: float) -> torch.Tensor:
    if len(tensors) == 0:
        raise InvalidParameter("tensors", "need at least one tensor")
    per = torch._foreach_norm(list(tensors), p)
    return torch.linalg.vector_norm(torch.stack(per), ord=p)


def parse_norm(norm) -> Geometry:
    """Parse ``"l2"``, ``"linf"``, ``"l1"``, ``"l<p>"``, ``("lp", p)``, a float ``p >= 1``, ``"spectral"``
    or a :class:`Geometry`.

    Parameters
    ----------
    norm : str, tuple, float or Geometry
        The norm.

    Returns
    -------
    Geometry

    Raises
    ------
    InvalidParameter
        For anything else (message names ``norm``).

    Examples
    --------
    >>> parse_norm("linf").dual_exponent
    1.0
    """
    if isinstance(norm, Geometry):
        return norm
    if isinstance(norm, str) and norm.strip().lower() in ("spectral", "op", "muon"):
        return Geometry("spectral", math.nan)
    if isinstance(norm, tuple) and len(norm) == 2 and norm[0] == "lp":
        norm = norm[1]
    try:
        attack = parse_attack(norm)
    except InvalidParameter as exc:
        raise InvalidParameter("norm", f"expected 'l2', 'linf', 'l1', 'l<p>', ('lp', p) or 'spectral', got {norm!r}"
                               f" ({exc})") from None
    if attack.kind != "lp":
        raise InvalidParameter("norm", f"only lp and spectral geometries are supported, got {norm!r}")
    return Geometry("lp", float(attack.p))


def flat(tensors: Iterable[torch.Tensor]) -> torch.Tensor:
    """All tensors flattened and concatenated (detached).

    Parameters
    ----------
    tensors : iterable of torch.Tensor
        The tensors, e.g. ``model.parameters()``.

    Returns
    -------
    torch.Tensor
        1-D, of length the total number of elements.

    Examples
    --------
    >>> import torch
    >>> from deep.optim import flat
    >>> flat([torch.ones(2, 2), torch.zeros(3)])
    tensor([1., 1., 1., 1., 0., 0., 0.])
    """
    return torch.cat([t.detach().reshape(-1) for t in tensors])
